using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Ckpt.Formats.Safetensors;
using Ckpt.Tensors;

namespace Ckpt.Tests.Inspection;

/// <summary>
/// An independent, test-only reading of safetensors files (header parsed here, not by the Kernel), and a
/// writer of small float32 files, so inspection results can be checked against a second computation.
/// </summary>
static class RawSafetensors
{
    public sealed record Entry(string DType, long[] Shape, long Begin, long End);

    public static (Dictionary<string, Entry> Header, long DataStart) Header(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long n = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var map = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__") continue;
            var offs = p.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            map[p.Name] = new Entry(p.Value.GetProperty("dtype").GetString()!,
                p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray(), offs[0], offs[1]);
        }
        return (map, 8 + n);
    }

    public static Dictionary<string, float[]> Floats(string path)
    {
        var (header, start) = Header(path);
        var bytes = File.ReadAllBytes(path);
        return header.Where(kv => kv.Value.DType == "F32").ToDictionary(kv => kv.Key,
            kv => MemoryMarshal.Cast<byte, float>(bytes.AsSpan((int)(start + kv.Value.Begin), (int)(kv.Value.End - kv.Value.Begin))).ToArray());
    }

    public static void WriteFloats(string path, params (string Name, long[] Shape, float[] Values)[] tensors) =>
        SafetensorsWriter.Write(path, tensors.Select(t => new TensorSource(t.Name, DType.F32, t.Shape, () =>
        {
            var d = new TensorData(t.Name, DType.F32, t.Shape);
            MemoryMarshal.AsBytes(t.Values.AsSpan()).CopyTo(d.Bytes);
            return d;
        })).ToList());
}
