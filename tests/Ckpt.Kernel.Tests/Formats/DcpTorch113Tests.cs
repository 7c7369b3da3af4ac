using Ckpt.Planning;
using Ckpt.Pickle;

namespace Ckpt.Tests.Formats;

/// <summary>A DCP written by torch 1.13 (`_shard.checkpoint`, ShardedTensor): uneven 2-D blocks, strided chunks, old module paths.</summary>
public class DcpTorch113Tests
{
    const string Fixture = "dcp-shardedtensor-torch113-4rank";

    [Fact]
    public void Every_tensor_equals_the_reference_byte_for_byte()
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture(Fixture));
        using var reference = Checkpoint.Open(TestPaths.Fixture(Fixture, "reference_full_model.safetensors"));
        ReferenceParity.AssertSameTensors(reference, dcp, "from the reference");
    }

    [Fact]
    public void A_transposed_chunk_keeps_its_strides()
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture(Fixture));
        var table = Assert.Single(dcp.GetEntry("table").Fragments);
        Assert.Equal([1L, 3], table.Strides);
        Assert.Equal([3L, 4], table.Lengths);
    }

    [Theory]
    [InlineData(2, 3, 8, 3)]   // crosses all four 2-D blocks of w
    [InlineData(7, 0, 5, 6)]
    [InlineData(0, 5, 12, 1)]
    public void A_window_across_2d_blocks_equals_the_reference(long row, long col, long rows, long cols)
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture(Fixture));
        using var reference = Checkpoint.Open(TestPaths.Fixture(Fixture, "reference_full_model.safetensors"));
        var box = new Box([row, col], [rows, cols]);
        using var want = reference.Read("w", box);
        using var got = dcp.Read("w", box);
        Assert.True(want.Bytes.SequenceEqual(got.Bytes));
    }

    [Theory]
    [InlineData(90, 20)]  // rows 90..110 take the end of the small chunk (read whole when described) and the start of the large one
    [InlineData(0, 256)]
    public void Chunks_either_side_of_the_small_chunk_size_read_equal(long row, long rows)
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture(Fixture));
        using var reference = Checkpoint.Open(TestPaths.Fixture(Fixture, "reference_full_model.safetensors"));
        var box = new Box([row, 7], [rows, 150]);
        using var want = reference.Read("emb", box);
        using var got = dcp.Read("emb", box);
        Assert.True(want.Bytes.SequenceEqual(got.Bytes));
        Assert.All(dcp.GetEntry("emb").Fragments, f => Assert.Equal(f.Lengths[0] * 160 * 4, f.Payload.Length));
    }

    [Fact]
    public void The_layout_old_module_paths_and_bytes_item_are_read()
    {
        using var dcp = Checkpoint.Open(TestPaths.Fixture(Fixture));
        var m = dcp.Manifest;
        Assert.Equal("shardedtensor", m.Framework);
        Assert.Equal(4, m.Layout.WorldSize);
        Assert.Equal("torch.distributed._shard.checkpoint.metadata.Metadata", m.Metadata["dcp.metadata_class"]);
        Assert.Equal(4, dcp.GetEntry("w").Fragments.Count);
        Assert.Equal([0, 1, 2], dcp.GetEntry("ids").Fragments.Select(f => f.WriterRank ?? -1).Order());
        Assert.Equal(16, m.Files.Count(f => f.Path.EndsWith(".distcp", StringComparison.Ordinal)));
        var meta = Assert.IsType<PyDict>(m.Objects.Single(o => o.Name == "meta").Value);
        Assert.Equal(7L, meta["step"]);
        Assert.Equal("torch 1.13", meta["name"]);
    }
}
