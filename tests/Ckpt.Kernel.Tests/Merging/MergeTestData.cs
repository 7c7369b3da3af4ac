using System.Text;
using System.Text.Json;
using Ckpt.Merging;

namespace Ckpt.Tests.Merging;

/// <summary>Inputs for merge tests: the real trajectory checkpoints, their raw floats, and tiny hand-written files.</summary>
internal static class MergeTestData
{
    public static string Step(int step) => TestPaths.Fixture("trajectory-llama-micro", $"step-{step:D4}.safetensors");

    /// <summary>Every tensor of a checkpoint as raw float32, read through the core reader (not the merge code).</summary>
    public static Dictionary<string, float[]> Floats(string path)
    {
        using var c = Checkpoint.Open(path);
        return c.Manifest.Tensors.ToDictionary(t => t.Name, t => { using var d = c.Read(t.Name); return d.ToFloats(); });
    }

    public static MemoryTensorSink Run(MergeSpec spec, long chunkElements = MergeExecutor.DefaultChunkElements)
    {
        var sink = new MemoryTensorSink();
        MergeExecutor.Run(spec, sink, chunkElements);
        return sink;
    }

    /// <summary>Writes a small float32 (or given dtype) safetensors file by hand, independent of any project writer.</summary>
    public static void WriteSafetensors(string path, IEnumerable<(string Name, string DType, long[] Shape, byte[] Bytes)> tensors)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        var list = tensors.ToList();
        foreach (var t in list)
        {
            header[t.Name] = new { dtype = t.DType, shape = t.Shape, data_offsets = new[] { offset, offset + t.Bytes.Length } };
            offset += t.Bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)json.Length));
        f.Write(json);
        foreach (var t in list) f.Write(t.Bytes);
    }

    public static (string, string, long[], byte[]) F32(string name, long[] shape, float[] values)
    {
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return (name, "F32", shape, bytes);
    }

    public static void AssertClose(double expected, float actual, string what, double relative = 1e-6, double absolute = 1e-7)
    {
        if (!(Math.Abs(actual - expected) <= relative * Math.Abs(expected) + absolute))
            Assert.Fail($"{what}: expected {expected:R}, got {actual:R}");
    }

    public static void AssertTensorsClose(IReadOnlyDictionary<string, double[]> expected, MemoryTensorSink actual, double relative = 1e-6)
    {
        Assert.Equal(expected.Keys.Order(), actual.Names.Order());
        foreach (var (name, e) in expected)
        {
            var a = actual.Floats(name);
            Assert.Equal(e.Length, a.Length);
            for (int j = 0; j < e.Length; j++) AssertClose(e[j], a[j], $"{name}[{j}]", relative);
        }
    }
}
