using Ckpt.Conversion;
using Ckpt.Inspection;
using Ckpt.Manifest;
using Ckpt.Tensors;
using Ckpt.Tests;

namespace Ckpt.Tests.Inspection;

public class CheckpointLayoutTests
{
    /// <summary>A [rows, 6] F32 tensor cut along dim 0 the way torch.chunk cuts it over <paramref name="world"/> ranks, one file per rank.</summary>
    static TensorEntry Chunked(string name, long rows, int world)
    {
        long chunk = (rows + world - 1) / world;
        var fragments = new List<Fragment>();
        for (int r = 0; r < world; r++)
        {
            long start = Math.Min(rows, r * chunk), len = Math.Min(chunk, rows - start);
            if (len <= 0) continue;
            fragments.Add(new Fragment([start, 0], [len, 6], new Payload($"__{r}_0.distcp", 1000 * r, len * 24 + 700),
                Shapes.ContiguousStrides([len, 6]), 0, r));
        }
        return new TensorEntry(name, DType.F32, [rows, 6], fragments);
    }

    static CheckpointManifest FourRank(params TensorEntry[] tensors) => new()
    {
        Format = "test",
        Tensors = tensors,
        Files = Enumerable.Range(0, 4).Select(r => new StorageFile($"__{r}_0.distcp", 1)).ToList(),
    };

    [Fact]
    public void Bytes_per_rank_of_a_four_rank_layout_are_the_element_bytes_of_each_ranks_fragments()
    {
        var m = FourRank(Chunked("a.weight", 10, 4), Chunked("b.weight", 3, 4));
        var layout = CheckpointLayout.Of(m);
        Assert.Equal([0, 1, 2, 3], layout.Ranks.Select(r => r!.Value));
        // a: chunks of 3,3,3,1 rows; b: 1,1,1,0 rows; 6 floats a row.
        long[] rows = [3 + 1, 3 + 1, 3 + 1, 1 + 0];
        for (int r = 0; r < 4; r++)
        {
            Assert.Equal(rows[r] * 6 * 4, layout.BytesOfRank(r));
            Assert.Equal(rows[r] * 6 * 4, layout.Bytes[r, layout.Files.ToList().IndexOf($"__{r}_0.distcp")]);
        }
        Assert.Equal(m.TensorBytes, layout.TotalBytes);
        Assert.Equal(7, layout.FragmentCount);
    }

    [Fact]
    public void Each_ranks_share_of_the_mean_is_its_bytes_over_the_mean_bytes_per_rank()
    {
        // Rows per rank 4, 4, 4, 1 (as above): a mean of 13/4 rows, so shares of 16/13 and 4/13.
        var shares = CheckpointLayout.Of(FourRank(Chunked("a.weight", 10, 4), Chunked("b.weight", 3, 4))).RankSharesOfMean();
        Assert.Equal([16.0 / 13, 16.0 / 13, 16.0 / 13, 4.0 / 13], shares, (a, b) => Math.Abs(a - b) < 1e-12);
        Assert.Equal(4, shares.Sum(), 12);
    }

    [Fact]
    public void Box_map_rectangles_tile_the_projected_tensor_with_hover_facts()
    {
        var layout = CheckpointLayout.Of(FourRank(Chunked("a.weight", 10, 4)));
        var t = Assert.Single(layout.Tensors);
        Assert.Equal((10L, 6L), FragmentPlacement.Plane(t.Shape));
        Assert.Equal(60, t.Fragments.Sum(f => f.Rectangle.Rows * f.Rectangle.Cols));
        var last = t.Fragments[^1];
        Assert.Equal((9L, 0L, 1L, 6L), last.Rectangle);
        Assert.Equal(("__3_0.distcp", 3000L, 24L + 700, 24L), (last.File, last.PayloadOffset, last.PayloadLength, last.Bytes));
    }

    [Fact]
    public void Box_maps_are_capped_to_the_largest_tensors_but_bytes_count_every_tensor()
    {
        var tensors = Enumerable.Range(1, 30).Select(i => Chunked($"t{i}.weight", i, 4)).ToArray();
        var layout = CheckpointLayout.Of(FourRank(tensors), maxBoxTensors: 5);
        Assert.Equal(["t26.weight", "t27.weight", "t28.weight", "t29.weight", "t30.weight"], layout.Tensors.Select(t => t.Name));
        Assert.Equal(30, layout.TensorCount);
        Assert.Equal(tensors.Sum(t => t.ByteCount), layout.TotalBytes);
    }

    [Fact]
    public void Bytes_per_file_of_a_sharded_safetensors_checkpoint_equal_each_files_data_section()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var layout = CheckpointLayout.Of(ckpt.Manifest);
        Assert.Equal(6, layout.Files.Count);
        Assert.Equal([null], layout.Ranks);
        for (int f = 0; f < layout.Files.Count; f++)
        {
            var path = Path.Combine(TestPaths.Fixture("hf-llama-tiny-sharded"), layout.Files[f]);
            var (_, dataStart) = RawSafetensors.Header(path);
            Assert.Equal(new FileInfo(path).Length - dataStart, layout.BytesOfFile(f));
        }
    }

    [Fact]
    public void A_tensor_glob_restricts_the_layout()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var layout = CheckpointLayout.Of(ckpt.Manifest, new TensorFilter(["model.layers.*.mlp.**"]));
        Assert.Equal(12, layout.TensorCount);
        Assert.Equal(ckpt.Manifest.Tensors.Where(t => t.Name.Contains(".mlp.")).Sum(t => t.ByteCount), layout.TotalBytes);
    }

    [DcpReaderFact]
    public void Layout_of_the_fsdp2_checkpoint_puts_each_ranks_torch_chunk_of_every_weight_in_its_file()
    {
        var dir = TestPaths.Fixture("dcp-fsdp2-4rank");
        var (reference, _) = RawSafetensors.Header(Path.Combine(dir, "reference_full_model.safetensors"));
        using var ckpt = Checkpoint.Open(dir);
        var layout = CheckpointLayout.Of(ckpt.Manifest, new TensorFilter(["model.**"]));

        // FSDP2 shards every parameter with Shard(0): torch.chunk over 4 ranks, ceil-sized chunks first.
        var expected = new long[4];
        foreach (var (_, e) in reference)
        {
            long rowBytes = (e.End - e.Begin) / Math.Max(1, e.Shape[0]);
            long chunk = (e.Shape[0] + 3) / 4;
            for (int r = 0; r < 4; r++) expected[r] += Math.Clamp(e.Shape[0] - r * chunk, 0, chunk) * rowBytes;
        }
        Assert.Equal(reference.Count, layout.TensorCount);
        for (int r = 0; r < 4; r++)
        {
            Assert.Equal(expected[r], layout.BytesOfFile(layout.Files.ToList().IndexOf($"__{r}_0.distcp")));
            int ri = layout.Ranks.ToList().IndexOf(r);
            if (ri >= 0) Assert.Equal(expected[r], layout.BytesOfRank(ri));
        }
    }
}

/// <summary>
/// Runs only where the DCP reader is built in (it lands on its own branch); skipped otherwise, with the reason,
/// and failed so under CI.
/// </summary>
sealed class DcpReaderFactAttribute() : RequiredFactAttribute(Probe())
{
    internal static string? Probe()
    {
        try
        {
            using var c = Checkpoint.Open(TestPaths.Fixture("dcp-fsdp2-4rank"));
            return c.Manifest.Format == "dcp" ? null : $"no DCP reader in this build (the folder opened as {c.Manifest.Format})";
        }
        catch (Exception e) { return $"no DCP reader in this build ({e.GetType().Name}: {e.Message})"; }
    }
}
