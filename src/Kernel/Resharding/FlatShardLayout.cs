using Ckpt.Planning;

namespace Ckpt.Resharding;

/// <summary>
/// FSDP / ZeRO-3 style flat sharding, per tensor: flatten, pad to a multiple of the world size, and give rank r
/// the elements [r·p, (r+1)·p) with p = ceil(numel / world). The rank's range is expressed as the few N-d boxes
/// a row-major range cuts the tensor into, so the planner reads exactly those bytes.
/// </summary>
public sealed class FlatShardLayout(int worldSize) : TargetLayout
{
    public override int WorldSize { get; } = worldSize > 0 ? worldSize : throw new ArgumentOutOfRangeException(nameof(worldSize));
    public override string Description => $"flat shards over {WorldSize} ranks (padded to a multiple of {WorldSize})";

    public override RankShard ShardOf(string name, IReadOnlyList<long> shape, int rank)
    {
        CheckRank(rank);
        long n = Manifest.Shapes.ElementCount(shape);
        long p = (n + WorldSize - 1) / WorldSize;
        long start = Math.Min(rank * p, n), end = Math.Min(start + p, n);
        return new RankShard(FlatRange.Boxes(shape, start, end), [p], p - (end - start));
    }
}

/// <summary>Cuts the row-major element range [start, end) of a shape into N-d boxes, in order.</summary>
public static class FlatRange
{
    public static IReadOnlyList<Box> Boxes(IReadOnlyList<long> shape, long start, long end)
    {
        var boxes = new List<Box>();
        if (end <= start) return boxes;
        if (shape.Count == 0) { boxes.Add(new Box([], [])); return boxes; }
        Cut(shape.ToArray(), 0, start, end, [], boxes);
        return boxes;
    }

    static void Cut(long[] shape, int dim, long start, long end, long[] prefix, List<Box> boxes)
    {
        if (end <= start) return;
        long inner = 1;
        for (int d = dim + 1; d < shape.Length; d++) inner *= shape[d];
        long firstRow = start / inner, lastRow = (end - 1) / inner;
        Box Rows(long from, long count)
        {
            var o = new long[shape.Length];
            var l = new long[shape.Length];
            for (int d = 0; d < dim; d++) { o[d] = prefix[d]; l[d] = 1; }
            o[dim] = from; l[dim] = count;
            for (int d = dim + 1; d < shape.Length; d++) { o[d] = 0; l[d] = shape[d]; }
            return new Box(o, l);
        }
        if (start % inner == 0 && end % inner == 0) { boxes.Add(Rows(firstRow, end / inner - firstRow)); return; }
        if (firstRow == lastRow)
        {
            Cut(shape, dim + 1, start - firstRow * inner, end - firstRow * inner, [.. prefix, firstRow], boxes);
            return;
        }
        long fullFrom = firstRow, fullTo = lastRow + 1;
        if (start % inner != 0)
        {
            Cut(shape, dim + 1, start - firstRow * inner, inner, [.. prefix, firstRow], boxes);
            fullFrom = firstRow + 1;
        }
        if (end % inner != 0) fullTo = lastRow;
        if (fullTo > fullFrom) boxes.Add(Rows(fullFrom, fullTo - fullFrom));
        if (end % inner != 0) Cut(shape, dim + 1, 0, end - lastRow * inner, [.. prefix, lastRow], boxes);
    }
}
