using System.IO.Hashing;
using Ckpt.Formats.Text;

namespace Ckpt.Resilience;

/// <summary>
/// `manifest.json` of one committed step: every file with its size and XxHash3 digest. The file is
/// `{"body": {...}, "xxh3": "..."}` where the digest covers the body's exact UTF-8 text, so a flipped bit in
/// the manifest itself is caught too. It is written last inside the temporary folder: a step folder
/// without a valid manifest was never committed.
/// </summary>
public sealed record StepManifest(long Step, DateTimeOffset CreatedUtc, IReadOnlyList<ManifestFile> Files,
    IReadOnlyDictionary<string, string> Metadata)
{
    public const string FileName = "manifest.json";
    public const string FormatTag = "ckpt-step/1";

    public long ByteCount => Files.Sum(f => f.Bytes);

    public byte[] ToBytes()
    {
        var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body, new JsonWriterOptions { Indented = false }))
        {
            json.WriteStartObject();
            json.WriteString("format", FormatTag);
            json.WriteNumber("step", Step);
            json.WriteString("createdUtc", CreatedUtc.UtcDateTime.ToString("O"));
            json.WriteStartArray("files");
            foreach (var f in Files)
            {
                json.WriteStartObject();
                json.WriteString("name", f.Name);
                json.WriteNumber("bytes", f.Bytes);
                json.WriteString("xxh3", f.XxHash3);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartObject("metadata");
            foreach (var kv in Metadata) json.WriteString(kv.Key, kv.Value);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        var bodyBytes = body.ToArray();
        var text = $"{{\"body\":{Encoding.UTF8.GetString(bodyBytes)},\"xxh3\":\"{Digest(bodyBytes)}\"}}\n";
        return Encoding.UTF8.GetBytes(text);
    }

    public static StepManifest Read(string path)
    {
        var file = Path.GetFileName(Path.GetDirectoryName(path)) + "/" + FileName;
        if (!System.IO.File.Exists(path))
            throw new CheckpointFormatException(FormatErrorReason.Incomplete, file, null, "the step has no manifest, so it was never committed");
        var bytes = RegularFile.ReadAllBytes(path, file);
        try
        {
            using var doc = JsonLimits.Parse(bytes, file, FormatErrorReason.MetadataInvalid);
            var body = doc.RootElement.GetProperty("body");
            var expected = doc.RootElement.GetProperty("xxh3").GetString();
            var found = Digest(Encoding.UTF8.GetBytes(body.GetRawText()));
            if (expected != found)
                throw new CheckpointFormatException(FormatErrorReason.ChecksumMismatch, file, null,
                    "the manifest does not match its own checksum", expected, found);
            if (body.GetProperty("format").GetString() != FormatTag)
                throw new CheckpointFormatException(FormatErrorReason.Unsupported, file, null, "unknown manifest format",
                    FormatTag, body.GetProperty("format").GetString());
            var files = body.GetProperty("files").EnumerateArray()
                .Select(f => new ManifestFile(f.GetProperty("name").GetString()!, f.GetProperty("bytes").GetInt64(), f.GetProperty("xxh3").GetString()!))
                .ToArray();
            var metadata = body.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            return new StepManifest(body.GetProperty("step").GetInt64(),
                DateTimeOffset.Parse(body.GetProperty("createdUtc").GetString()!), files, metadata);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, null, "the manifest is not valid JSON of the expected shape", inner: e);
        }
    }

    internal static string Digest(ReadOnlySpan<byte> bytes) => XxHash3.HashToUInt64(bytes).ToString("x16");
}

/// <summary>One file of a committed step: plain name, exact size, XxHash3 (64-bit, hex) of its bytes.</summary>
public sealed record ManifestFile(string Name, long Bytes, string XxHash3);
