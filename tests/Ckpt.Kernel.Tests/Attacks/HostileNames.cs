using System.Buffers.Binary;
using System.Text;

namespace Ckpt.Tests.Attacks;

/// <summary>Safetensors files whose names carry control characters (a newline, an ANSI escape), written at test time.</summary>
static class HostileNames
{
    /// <summary>One F32 tensor named <paramref name="name"/> with dtype <paramref name="dtype"/>; the header is JSON-escaped.</summary>
    public static string Safetensors(string path, string name, string dtype = "F32")
    {
        var header = $"{{{Json(name)}:{{\"dtype\":{Json(dtype)},\"shape\":[2],\"data_offsets\":[0,8]}}}}";
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + 8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static string Json(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
