using Ckpt.Planning;

namespace Ckpt.Resharding;

/// <summary>One tensor of one target rank: its shard and the reads that fill it (one plan per box).</summary>
public sealed record TensorShardPlan(TensorEntry Tensor, RankShard Shard, IReadOnlyList<ReadPlan> Reads)
{
    public long BytesNeeded => Tensor.DType.ByteCount(Shard.ElementCount);
    public long BytesRead => Reads.Sum(r => r.BytesRead);
}

/// <summary>Everything one target rank reads: per tensor, per box, the coalesced byte ranges.</summary>
public sealed record RankPlan(int Rank, TargetLayout Layout, IReadOnlyList<TensorShardPlan> Tensors)
{
    public long BytesNeeded => Tensors.Sum(t => t.BytesNeeded);
    public long BytesRead => Tensors.Sum(t => t.BytesRead);
    public int ReadCount => Tensors.Sum(t => t.Reads.Sum(r => r.Reads.Count + r.DecodedReads.Count));
    /// <summary>Tensors this rank holds a non-empty shard of (a rank's plan lists every tensor, an empty shard for those it lacks).</summary>
    public int HeldTensors => Tensors.Count(t => !t.Shard.IsEmpty);
    /// <summary>Distinct files this rank touches.</summary>
    public IReadOnlyList<string> Files => Tensors.SelectMany(t => t.Reads)
        .SelectMany(r => r.Reads.Select(x => x.File).Concat(r.DecodedReads.Select(d => d.Fragment.Payload.File)))
        .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
}

/// <summary>
/// Load-time resharding (DCP §1.5, ByteCheckpoint): the target layout gives each rank's boxes, the read
/// planner intersects them with the saved fragments. No rank ever materialises a full tensor it does not hold.
/// </summary>
public static class ReshardPlanner
{
    /// <summary>A target rank reads at most this fraction more than the bytes of its shards (gaps coalesced through).</summary>
    public const double MaxOverRead = 0.05;

    /// <param name="tuning">The source storage's read tuning (object stores coalesce larger gaps); local disk when null.</param>
    public static RankPlan Plan(CheckpointManifest manifest, TargetLayout layout, int rank, Func<TensorEntry, bool>? include = null,
        ReadTuning? tuning = null)
    {
        if (rank < 0 || rank >= layout.WorldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is outside a world of {layout.WorldSize}");
        var tensors = new List<TensorShardPlan>();
        foreach (var t in manifest.Tensors)
        {
            if (include is not null && !include(t)) continue;
            var shard = layout.ShardOf(t.Name, t.Shape, rank);
            var reads = shard.Boxes.Where(b => b.ElementCount > 0).Select(b => ReadPlanner.Plan(t, b, MaxOverRead, tuning)).ToArray();
            tensors.Add(new TensorShardPlan(t, shard, reads));
        }
        return new RankPlan(rank, layout, tensors);
    }

    public static IReadOnlyList<RankPlan> PlanAll(CheckpointManifest manifest, TargetLayout layout, Func<TensorEntry, bool>? include = null,
        ReadTuning? tuning = null)
    {
        layout.RequireFits(manifest, "the checkpoint");
        return Enumerable.Range(0, layout.WorldSize).Select(r => Plan(manifest, layout, r, include, tuning)).ToArray();
    }
}
