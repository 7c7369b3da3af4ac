using Ckpt.Planning;
using Ckpt.Resharding;

namespace Ckpt.Tests.Resharding;

public class TargetLayoutTests
{
    [Theory]
    [InlineData(5, 4, new long[] { 2, 2, 1, 0 })]
    [InlineData(3, 8, new long[] { 1, 1, 1, 0, 0, 0, 0, 0 })]
    [InlineData(12, 5, new long[] { 3, 3, 3, 3, 0 })]
    [InlineData(176, 3, new long[] { 59, 59, 58 })]
    public void Chunks_follow_torch_chunk_with_empty_trailing_parts(long n, int parts, long[] expected)
    {
        var lengths = Enumerable.Range(0, parts).Select(i => TorchChunk.Part(n, parts, i)).ToArray();
        Assert.Equal(expected, lengths.Select(p => p.Length));
        long next = 0;
        foreach (var (o, l) in lengths) { Assert.Equal(Math.Min(next, n), o); next = o + l; }
        Assert.Equal(n, next);
    }

    [Theory]
    [InlineData("Shard(0),Replicate()", "Shard(0)|Replicate()")]
    [InlineData(" S(1) , R ", "Shard(1)|Replicate()")]
    [InlineData("Shard(0), Shard(1)", "Shard(0)|Shard(1)")]
    public void Placement_lists_parse(string text, string expected) =>
        Assert.Equal(expected, string.Join("|", Placement.ParseList(text)));

    [Theory]
    [InlineData("Shard(x)")]
    [InlineData("Shard(0),,Replicate()")]
    [InlineData("Partial()")]
    public void Bad_placement_lists_are_refused(string text) =>
        Assert.Throws<FormatException>(() => Placement.ParseList(text));

    [Fact]
    public void A_two_by_two_mesh_tiles_every_tensor_exactly_once()
    {
        var layout = new DTensorLayout([2, 2], Placement.ParseList("Shard(0),Shard(1)"));
        long[] shape = [5, 7];
        var seen = new int[35];
        for (int r = 0; r < 4; r++)
        {
            var box = Assert.Single(layout.ShardOf("w", shape, r).Boxes);
            foreach (var (i, j) in Elements(box)) seen[i * 7 + j]++;
        }
        Assert.All(seen, c => Assert.Equal(1, c));
        // Rank 1 is mesh (0, 1): first half of rows, second half of columns (torch.chunk: 3+2 rows, 4+3 cols).
        Assert.Equal("[0:3, 4:7]", layout.ShardOf("w", shape, 1).Boxes[0].ToString());
    }

    [Fact]
    public void Shard_on_a_missing_dimension_replicates_that_tensor()
    {
        var layout = new DTensorLayout([2, 2], Placement.ParseList("Shard(0),Shard(1)"));
        var norm = layout.ShardOf("norm.weight", [64], 3);
        Assert.Equal("[32:64]", norm.Boxes[0].ToString());
    }

    [Fact]
    public void Replicate_on_every_mesh_dimension_gives_the_whole_tensor()
    {
        var layout = new DTensorLayout([2, 3], Placement.ParseList("R,R"));
        Assert.Equal(6, layout.WorldSize);
        Assert.Equal("[0:4, 0:5]", layout.ShardOf("w", [4, 5], 5).Boxes[0].ToString());
    }

    [Theory]
    [InlineData(new long[] { 4, 5, 6 }, 0, 120)]
    [InlineData(new long[] { 4, 5, 6 }, 7, 113)]
    [InlineData(new long[] { 4, 5, 6 }, 29, 31)]
    [InlineData(new long[] { 4, 5, 6 }, 31, 62)]
    [InlineData(new long[] { 3, 1, 7 }, 2, 19)]
    [InlineData(new long[] { 10 }, 3, 4)]
    public void Flat_ranges_cut_into_boxes_that_list_the_range_in_order(long[] shape, long start, long end)
    {
        var boxes = FlatRange.Boxes(shape, start, end);
        var strides = Manifest.Shapes.ContiguousStrides(shape);
        var flat = boxes.SelectMany(b => ElementsN(b)).Select(idx => idx.Select((x, d) => x * strides[d]).Sum()).ToArray();
        Assert.Equal(Enumerable.Range((int)start, (int)(end - start)).Select(x => (long)x), flat);
        Assert.True(boxes.Count <= 2 * shape.Length - 1, $"{boxes.Count} boxes for a {shape.Length}-d range");
    }

    [Fact]
    public void Flat_sharding_pads_the_last_rank_and_leaves_late_ranks_empty()
    {
        var layout = new FlatShardLayout(4);
        // 10 elements over 4 ranks: p = 3; ranks hold 3, 3, 3, 1 (+2 padding).
        var shards = Enumerable.Range(0, 4).Select(r => layout.ShardOf("b", [10], r)).ToArray();
        Assert.All(shards, s => Assert.Equal([3L], s.LocalShape));
        Assert.Equal([3L, 3, 3, 1], shards.Select(s => s.ElementCount));
        Assert.Equal([0L, 0, 0, 2], shards.Select(s => s.PaddingElements));
        var tiny = new FlatShardLayout(8).ShardOf("s", [3], 5);
        Assert.True(tiny.IsEmpty);
        Assert.Equal(1, tiny.PaddingElements);
    }

    [Fact]
    public void Tensor_parallel_rules_split_column_row_and_gated_fc1_and_replicate_norms()
    {
        var tp = new TensorParallelLayout(2, gatedLinearUnit: true);
        Assert.Equal("[64:128, 0:32]", tp.ShardOf("decoder.layers.0.self_attention.linear_qkv.weight", [128, 32], 1).Boxes[0].ToString());
        Assert.Equal("[0:32, 16:32]", tp.ShardOf("decoder.layers.0.self_attention.linear_proj.weight", [32, 32], 1).Boxes[0].ToString());
        Assert.Equal("[0:32]", tp.ShardOf("decoder.layers.0.self_attention.linear_proj.bias", [32], 1).Boxes[0].ToString());
        Assert.Equal("[0:32]", tp.ShardOf("decoder.layers.0.input_layernorm.weight", [32], 1).Boxes[0].ToString());
        var fc1 = tp.ShardOf("decoder.layers.0.mlp.linear_fc1.weight", [8, 4], 1);
        Assert.Equal(["[2:4, 0:4]", "[6:8, 0:4]"], fc1.Boxes.Select(b => b.ToString()));
        Assert.Equal([4L, 4], fc1.LocalShape);
        Assert.Equal("[0:32, 8:16]", new TensorParallelLayout(4).ShardOf("model.layers.0.mlp.down_proj.weight", [32, 32], 1).Boxes[0].ToString());
    }

    static IEnumerable<(long, long)> Elements(Box b)
    {
        for (long i = 0; i < b.Lengths[0]; i++)
            for (long j = 0; j < b.Lengths[1]; j++)
                yield return (b.Offsets[0] + i, b.Offsets[1] + j);
    }

    static IEnumerable<long[]> ElementsN(Box b)
    {
        if (b.ElementCount == 0) yield break;
        var idx = new long[b.Rank];
        while (true)
        {
            yield return idx.Select((x, d) => x + b.Offsets[d]).ToArray();
            int k = b.Rank - 1;
            while (k >= 0 && ++idx[k] == b.Lengths[k]) { idx[k] = 0; k--; }
            if (k < 0) yield break;
        }
    }
}
