using System.Buffers.Binary;
using Ckpt.Formats.Text;

namespace Ckpt.Formats.Safetensors;

/// <summary>
/// The header of one safetensors file: `u64 LE N`, N bytes of UTF-8 JSON, then the byte buffer.
/// Invariants (huggingface/safetensors README and tensor.rs), each with its own reason:
/// <list type="number">
/// <item>the file holds at least the 8-byte length (Truncated) and is not empty (EmptyFile);</item>
/// <item>N ≤ 100,000,000 (HeaderTooLarge) and 8+N ≤ file size (Truncated);</item>
/// <item>the header is a UTF-8 JSON object without duplicate keys (HeaderInvalid);</item>
/// <item>`__metadata__`, when present, maps strings to strings (MetadataInvalid);</item>
/// <item>each dtype is a known code (UnknownDType); each shape is non-negative ints whose product fits (InvalidShape);</item>
/// <item>data_offsets are [begin, end] with begin ≤ end (OffsetOutOfBounds) and end−begin = numel × itemsize (ByteLengthMismatch);</item>
/// <item>sorted by begin, the buffers start at 0 and touch (HoleInData) without overlapping (OverlappingData);</item>
/// <item>the last end equals the buffer size (Truncated when the file is shorter, HoleInData when longer).</item>
/// </list>
/// </summary>
public sealed record SafetensorsHeader(
    string File,
    long HeaderLength,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<SafetensorsTensorInfo> Tensors)
{
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>File offset where the byte buffer starts.</summary>
    public long DataStart => 8 + HeaderLength;

    public static SafetensorsHeader Read(ICheckpointStorage storage, string file)
    {
        long fileLength = storage.Length(file);
        if (fileLength == 0)
            throw new CheckpointFormatException(FormatErrorReason.EmptyFile, file, null, "the file is empty");
        if (fileLength < 8)
            throw new CheckpointFormatException(FormatErrorReason.Truncated, file, null,
                "the file is too short to hold the 8-byte header length", expected: "at least 8 bytes", found: $"{fileLength} bytes");
        Span<byte> lenBytes = stackalloc byte[8];
        storage.Read(file, 0, lenBytes, IoCategory.Metadata);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (n > MaxHeaderLength)
            throw new CheckpointFormatException(FormatErrorReason.HeaderTooLarge, file, null,
                "the header length exceeds the 100,000,000-byte limit", expected: $"≤ {MaxHeaderLength}", found: n.ToString());
        if ((long)n + 8 > fileLength)
            throw new CheckpointFormatException(FormatErrorReason.Truncated, file, null,
                "the header length is larger than the file", expected: $"{n + 8} bytes at least", found: $"{fileLength} bytes");
        var header = new byte[n];
        storage.Read(file, 8, header, IoCategory.Metadata);
        return Parse(file, header, fileLength);
    }

    public static SafetensorsHeader Parse(string file, byte[] header, long fileLength)
    {
        long headerLength = header.Length;
        JsonDocument doc;
        try
        {
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header);
            doc = JsonLimits.Parse(header, file, FormatErrorReason.HeaderInvalid, maxDepth: 8);
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException or ArgumentException)
        {
            throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, null,
                $"the header is not valid UTF-8 JSON ({e.Message.Split('\n')[0].TrimEnd('.')})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, null,
                    "the header is not a JSON object", expected: "object", found: doc.RootElement.ValueKind.ToString());

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafetensorsTensorInfo>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                    throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, prop.Name, "the header names this key twice");
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, null,
                            "__metadata__ is not an object of strings", expected: "object", found: prop.Value.ValueKind.ToString());
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, null,
                                $"__metadata__ value of '{m.Name}' is not a string", expected: "string", found: m.Value.ValueKind.ToString());
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                tensors.Add(ParseTensor(file, prop.Name, prop.Value));
            }
            long bufferLength = fileLength - 8 - headerLength;
            CheckLayout(file, tensors, bufferLength);
            return new SafetensorsHeader(file, headerLength, metadata, tensors);
        }
    }

    static SafetensorsTensorInfo ParseTensor(string file, string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, name, "the entry is not an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, name, "the entry has no string 'dtype'");
        var code = dt.GetString()!;
        if (!DTypes.TryParseCode(code, out var dtype))
            throw new CheckpointFormatException(FormatErrorReason.UnknownDType, file, name, $"dtype '{code}' is not a safetensors dtype",
                expected: "one of " + string.Join(" ", Enum.GetNames<DType>()), found: code);
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, name, "the entry has no 'shape' array");
        var shape = new long[sh.GetArrayLength()];
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var v) || v < 0)
                throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, name,
                    $"shape dimension {i} is not a non-negative integer", expected: "integer ≥ 0", found: d.GetRawText());
            shape[i++] = v;
        }
        var numel = Shapes.TryElementCount(shape) ?? throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, name,
            $"shape {Shapes.Format(shape)} has more than 2^63 elements");
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, name, "the entry has no 'data_offsets' pair");
        var o = off.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var v) && v >= 0 ? v : -1).ToArray();
        if (o[0] < 0 || o[1] < 0 || o[1] < o[0])
            throw new CheckpointFormatException(FormatErrorReason.OffsetOutOfBounds, file, name,
                $"data_offsets {off.GetRawText()} are not a range [begin, end] of non-negative integers");
        long expected;
        try { expected = dtype.ByteCount(numel); }
        catch (OverflowException)
        {
            throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, name, $"shape {Shapes.Format(shape)} × {code} overflows 2^63 bytes");
        }
        if (o[1] - o[0] != expected)
            throw new CheckpointFormatException(FormatErrorReason.ByteLengthMismatch, file, name,
                $"data_offsets span {o[1] - o[0]} bytes but shape {Shapes.Format(shape)} of {code} needs {expected}",
                expected: $"{expected} bytes", found: $"{o[1] - o[0]} bytes");
        return new SafetensorsTensorInfo(name, dtype, shape, o[0], o[1]);
    }

    static void CheckLayout(string file, List<SafetensorsTensorInfo> tensors, long bufferLength)
    {
        long end = 0;
        SafetensorsTensorInfo? previous = null;
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin < end)
                throw new CheckpointFormatException(FormatErrorReason.OverlappingData, file, t.Name,
                    $"its bytes [{t.Begin}, {t.End}) overlap those of '{previous!.Name}' [{previous.Begin}, {previous.End})");
            if (t.Begin > end)
                throw new CheckpointFormatException(FormatErrorReason.HoleInData, file, t.Name,
                    $"its bytes start at {t.Begin}, leaving a hole after byte {end}", expected: end.ToString(), found: t.Begin.ToString());
            end = t.End;
            previous = t;
        }
        if (end > bufferLength)
            throw new CheckpointFormatException(FormatErrorReason.Truncated, file, previous?.Name,
                $"the data ends at byte {end} of the buffer but the file holds {bufferLength}",
                expected: $"{end} data bytes", found: $"{bufferLength} data bytes");
        if (end < bufferLength)
            throw new CheckpointFormatException(FormatErrorReason.HoleInData, file, null,
                $"{bufferLength - end} bytes follow the last tensor", expected: $"{end} data bytes", found: $"{bufferLength} data bytes");
    }

    /// <summary>Manifest entries for this file's tensors, each one whole fragment.</summary>
    public IEnumerable<TensorEntry> ToEntries(int? rank = null) =>
        Tensors.Select(t => new TensorEntry(t.Name, t.DType, t.Shape,
            [Fragment.Whole(t.Shape, new Payload(File, DataStart + t.Begin, t.End - t.Begin), rank)]));
}

public sealed record SafetensorsTensorInfo(string Name, DType DType, IReadOnlyList<long> Shape, long Begin, long End);
