using Ckpt.Errors;
using Ckpt.Formats.Dcp;
using Ckpt.Planning;
using ZstdSharp;

namespace Ckpt.Tests.Formats;

/// <summary>
/// DCP items written through stream transforms (`_extensions=[ZStandard()]`, torch ≥ 2.7): built here by
/// re-encoding every item of a real fixture and re-pickling `.metadata` with the new offsets.
/// </summary>
public class DcpTransformTests
{
    [Theory]
    [InlineData("dcp-dtensor1d-4rank", "")]
    [InlineData("dcp-fsdp2-4rank", "model.")]
    public void A_zstd_compressed_checkpoint_loads_equal_to_the_reference(string fixture, string prefix)
    {
        using var copy = new MutatedCheckpoint(fixture, withReference: true);
        Encode(copy, ["stream.zstd/1"]);
        using var dcp = Checkpoint.Open(copy.Path);
        Assert.Equal(0, dcp.Storage.Statistics.TensorBytesRead);
        Assert.All(dcp.Manifest.Tensors.SelectMany(t => t.Fragments), f => Assert.Equal(["stream.zstd/1"], f.Payload.Transforms!));

        using var reference = Checkpoint.Open(copy.File("reference_full_model.safetensors"));
        foreach (var expected in reference.Manifest.Tensors)
        {
            using var want = reference.Read(expected.Name);
            using var got = dcp.Read(prefix + expected.Name);
            Assert.True(want.Bytes.SequenceEqual(got.Bytes), $"{expected.Name} differs from the reference");
        }
        var box = new Box([3, 7], [15, 40]);
        using (var want = reference.Read("model.layers.3.self_attn.o_proj.weight", box))
        using (var got = dcp.Read(prefix + "model.layers.3.self_attn.o_proj.weight", box))
            Assert.True(want.Bytes.SequenceEqual(got.Bytes));
    }

    [Fact]
    public void Zstd_compressed_bytes_items_and_optimizer_state_decode()
    {
        using var copy = new MutatedCheckpoint("dcp-fsdp2-4rank");
        Encode(copy, ["stream.zstd/1"]);
        using var dcp = Checkpoint.Open(copy.Path);
        var objects = dcp.Manifest.Objects.ToDictionary(o => o.Name);
        Assert.Equal(0.001, objects["optim.param_groups.0.lr"].Value);
        Assert.Equal(1L, objects["train_state.step"].Value);
        using var step = dcp.Read("optim.state.lm_head.weight.step");
        Assert.Equal([1.0], step.ToDoubles());
        using var original = Checkpoint.Open(TestPaths.Fixture("dcp-fsdp2-4rank"));
        using var a = original.Read("optim.state.lm_head.weight.exp_avg_sq");
        using var b = dcp.Read("optim.state.lm_head.weight.exp_avg_sq");
        Assert.True(a.Bytes.SequenceEqual(b.Bytes));
    }

    [Fact]
    public void Chained_transforms_are_undone_outermost_first()
    {
        using var copy = new MutatedCheckpoint("dcp-dtensor1d-4rank");
        Encode(copy, ["stream.rot13/1", "stream.zstd/1"]);
        using var dcp = Checkpoint.Open(copy.Path);
        using var original = Checkpoint.Open(TestPaths.Fixture("dcp-dtensor1d-4rank"));
        using var a = original.Read("model.embed_tokens.weight");
        using var b = dcp.Read("model.embed_tokens.weight");
        Assert.True(a.Bytes.SequenceEqual(b.Bytes));
        Assert.Equal("dtensor 1d", dcp.Manifest.Objects.Single(o => o.Name == "scalar_meta.note").Value);
    }

    [Fact]
    public void A_zstd_bomb_is_stopped_at_the_size_the_chunk_can_need()
    {
        using var copy = new MutatedCheckpoint("dcp-dtensor1d-4rank");
        Encode(copy, ["stream.zstd/1"], (fqn, bytes) => fqn == "model.norm.weight" ? new byte[64 << 20] : bytes);
        using var dcp = Checkpoint.Open(copy.Path);
        var e = Assert.Throws<CheckpointFormatException>(() => dcp.Read("model.norm.weight"));
        Assert.Equal(FormatErrorReason.TooLarge, e.Reason);
        Assert.Equal("model.norm.weight", e.Tensor);
    }

    [Fact]
    public void A_corrupt_zstd_stream_is_refused_when_read()
    {
        using var copy = new MutatedCheckpoint("dcp-dtensor1d-4rank");
        Encode(copy, ["stream.zstd/1"], encodedOverride: (fqn, encoded) => fqn == "lm_head.weight" ? encoded.Select(b => (byte)~b).ToArray() : encoded);
        using var dcp = Checkpoint.Open(copy.Path);
        var e = Assert.Throws<CheckpointFormatException>(() => dcp.Read("lm_head.weight"));
        Assert.Equal(FormatErrorReason.TransformFailed, e.Reason);
    }

    /// <summary>
    /// Re-encodes every item of the copy through <paramref name="transforms"/> (first applied first, so the last
    /// one listed is the outermost, as torch lists them), packs them into new data files and rewrites `.metadata`.
    /// </summary>
    static void Encode(MutatedCheckpoint copy, string[] transforms, Func<string, byte[], byte[]>? payloadOverride = null,
        Func<string, byte[], byte[]>? encodedOverride = null)
    {
        var meta = copy.ReadDcpMetadata();
        var outputs = new Dictionary<string, MemoryStream>();
        var entries = new List<DcpStorageEntry>();
        foreach (var s in meta.StorageData)
        {
            var bytes = new byte[s.Info.Length];
            using (var f = File.OpenRead(copy.File(s.Info.RelativePath)))
            {
                f.Position = s.Info.Offset;
                f.ReadExactly(bytes);
            }
            if (payloadOverride is not null) bytes = payloadOverride(s.Fqn, bytes);
            foreach (var t in transforms)
                bytes = t == "stream.zstd/1" ? Zstd(bytes) : SwapCase(bytes);
            if (encodedOverride is not null) bytes = encodedOverride(s.Fqn, bytes);
            if (!outputs.TryGetValue(s.Info.RelativePath, out var output)) outputs[s.Info.RelativePath] = output = new MemoryStream();
            entries.Add(s with { Info = new DcpStorageInfo(s.Info.RelativePath, output.Length, bytes.Length, transforms) });
            output.Write(bytes);
        }
        foreach (var (file, output) in outputs) File.WriteAllBytes(copy.File(file), output.ToArray());
        copy.MutateDcpMetadata(_ => meta with { StorageData = entries });
    }

    static byte[] Zstd(byte[] bytes)
    {
        using var compressor = new Compressor(3);
        return compressor.Wrap(bytes).ToArray();
    }

    static byte[] SwapCase(byte[] bytes) => bytes.Select(c => c is >= (byte)'A' and <= (byte)'Z' ? (byte)(c + 32)
        : c is >= (byte)'a' and <= (byte)'z' ? (byte)(c - 32) : c).ToArray();
}
