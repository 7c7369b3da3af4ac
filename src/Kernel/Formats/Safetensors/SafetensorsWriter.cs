using System.Buffers.Binary;
using Ckpt.Monitoring;

namespace Ckpt.Formats.Safetensors;

/// <summary>A tensor to write: its description now, its bytes only when its turn comes.</summary>
public sealed record TensorSource(string Name, DType DType, IReadOnlyList<long> Shape, Func<TensorData> Load)
{
    public long ByteCount => DType.ByteCount(Shapes.ElementCount(Shape));
}

/// <summary>
/// Writes one safetensors file the way the reference implementation does: tensors ordered by descending
/// dtype size then name, `__metadata__` first, header padded with spaces to 8 bytes. Tensors are loaded and
/// written one at a time; the file appears under its name only once complete (temp file, fsync, rename).
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<TensorSource> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        OperationTimeline? timeline = null, CancellationToken cancellationToken = default)
    {
        var ordered = Order(tensors);
        var header = BuildHeader(ordered, metadata);
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                stream.Write(len);
                stream.Write(header);
                foreach (var t in ordered)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var start = timeline?.Now;
                    using var data = t.Load();
                    if (data.ByteLength != t.ByteCount || data.DType != t.DType)
                        throw new InvalidOperationException($"tensor '{t.Name}' loaded as {data.DType} {data.ByteLength} bytes, expected {t.DType} {t.ByteCount}");
                    var loaded = timeline?.Now;
                    for (long o = 0; o < data.ByteLength; o += 1 << 30)
                        stream.Write(data.Slice(o, (int)Math.Min(1 << 30, data.ByteLength - o)));
                    if (timeline is not null)
                    {
                        timeline.Record("load", t.Name, start!.Value, t.ByteCount);
                        timeline.Record("write", Path.GetFileName(path), loaded!.Value, t.ByteCount);
                    }
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Descending element size, then name (ordinal): the order Python's safetensors writes.</summary>
    public static IReadOnlyList<TensorSource> Order(IEnumerable<TensorSource> tensors) =>
        tensors.OrderByDescending(t => t.DType.Size()).ThenBy(t => t.Name, StringComparer.Ordinal).ToArray();

    public static byte[] BuildHeader(IReadOnlyList<TensorSource> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata.OrderBy(k => k.Key, StringComparer.Ordinal)) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in ordered)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.Code());
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += t.ByteCount;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < pad; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}
