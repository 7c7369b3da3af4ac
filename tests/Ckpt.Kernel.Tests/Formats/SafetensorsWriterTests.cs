using Ckpt.Conversion;
using Ckpt.Formats.Safetensors;
using Ckpt.Tensors;
using Ckpt.Tests;

namespace Ckpt.Tests.Formats;

public class SafetensorsWriterTests
{
    static IReadOnlyList<TensorSource> SourcesOf(Checkpoint c) =>
        c.Manifest.Tensors.Select(t => new TensorSource(t.Name, t.DType, t.Shape, () => c.Read(t.Name))).ToArray();

    [Fact]
    public void Rewriting_a_file_written_by_python_safetensors_reproduces_it_byte_for_byte()
    {
        var src = TestPaths.Fixture("dcp-dtensor1d-4rank", "reference_full_model.safetensors");
        using var ckpt = Checkpoint.Open(src);
        var dir = TestPaths.TempDirectory("rewrite");
        var out1 = Path.Combine(dir, "a.safetensors");
        SafetensorsWriter.Write(out1, SourcesOf(ckpt));
        Assert.Equal(File.ReadAllBytes(src), File.ReadAllBytes(out1));

        var shard = TestPaths.Fixture("hf-llama-tiny-sharded", "model-00001-of-00006.safetensors");
        using var s = Checkpoint.Open(shard);
        var out2 = Path.Combine(dir, "b.safetensors");
        SafetensorsWriter.Write(out2, SourcesOf(s), s.Manifest.Metadata.Where(kv => kv.Key == "format").ToDictionary());
        Assert.Equal(File.ReadAllBytes(shard), File.ReadAllBytes(out2));
    }

    [Fact]
    public void Shards_are_cut_when_the_next_tensor_would_overflow_and_big_tensors_stand_alone()
    {
        TensorSource T(string n, long bytes) => new(n, DType.U8, [bytes], () => throw new InvalidOperationException());
        var shards = ShardedSafetensorsWriter.Split([T("a", 40), T("b", 50), T("c", 20), T("d", 300), T("e", 10)], 100);
        // As huggingface_hub does: the oversized tensor is emitted at once, the open shard keeps filling.
        Assert.Equal([["a", "b"], ["d"], ["c", "e"]], shards.Select(s => s.Select(t => t.Name).ToArray()).ToArray());
    }

    [Fact]
    public void Converting_a_sharded_checkpoint_writes_an_hf_index_and_equal_tensors()
    {
        using var src = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var dir = TestPaths.TempDirectory("convert");
        var result = CheckpointConverter.Convert(src, new ConvertOptions(TargetFormat.Safetensors, dir, MaxShardBytes: 300_000));
        Assert.NotNull(result.IndexFile);
        Assert.Equal(4, result.Files.Count);
        Assert.True(File.Exists(Path.Combine(dir, "model-00001-of-00004.safetensors")));
        using var back = Checkpoint.Open(dir);
        Assert.Equal("1001728", back.Manifest.Metadata["index.total_size"]);
        foreach (var t in src.Manifest.Tensors)
        {
            using var a = src.Read(t.Name);
            using var b = back.Read(t.Name);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), t.Name);
        }
        Assert.Empty(Directory.GetFiles(dir, "*.tmp*"));
    }

    [Fact]
    public void Converting_with_only_and_dtype_keeps_the_matching_tensors_cast_to_bf16()
    {
        using var src = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var dir = TestPaths.TempDirectory("only");
        CheckpointConverter.Convert(src, new ConvertOptions(TargetFormat.Safetensors, dir, Only: ["model.layers.*.self_attn.**"], DType: DType.BF16));
        using var back = Checkpoint.Open(Path.Combine(dir, "model.safetensors"));
        Assert.Equal(16, back.Manifest.Tensors.Count);
        Assert.All(back.Manifest.Tensors, t => Assert.Equal(DType.BF16, t.DType));
        using var a = src.Read("model.layers.2.self_attn.q_proj.weight");
        using var b = back.Read("model.layers.2.self_attn.q_proj.weight");
        var fa = a.ToFloats();
        var fb = b.ToFloats();
        for (int i = 0; i < fa.Length; i++)
            Assert.Equal(ElementConversion.BFloat16ToSingle(ElementConversion.SingleToBFloat16(fa[i])), fb[i]);
        // bf16 keeps 8 bits of mantissa: relative error at most 2^-9.
        Assert.All(fa.Zip(fb), p => Assert.True(Math.Abs(p.First - p.Second) <= Math.Abs(p.First) / 256 + 1e-30));
    }
}
