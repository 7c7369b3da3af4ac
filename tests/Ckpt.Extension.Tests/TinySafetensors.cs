using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Ckpt.Extension.Tests;

/// <summary>Writes small F32 safetensors files for tests that need names or counts the fixtures lack.</summary>
static class TinySafetensors
{
    public static void Write(string path, IEnumerable<(string Name, long[] Shape)> tensors, IDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>();
        if (metadata is not null) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * 4;
            header[name] = new { dtype = "F32", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        file.Write(length);
        file.Write(json);
        file.Write(new byte[offset]);
    }
}
