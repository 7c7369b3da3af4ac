namespace Ckpt.Resharding;

/// <summary>
/// A parallel layout to load a checkpoint into: for each rank, which part of each tensor it holds.
/// Layouts describe boxes only; <see cref="ReshardPlanner"/> turns them into reads.
/// </summary>
public abstract class TargetLayout
{
    public abstract int WorldSize { get; }
    /// <summary>A short human description (`DTensor mesh [2, 2] (Shard(0), Shard(1))`).</summary>
    public abstract string Description { get; }
    /// <summary>Mesh shape, for reports; flat layouts are one-dimensional.</summary>
    public virtual IReadOnlyList<int> Mesh => [WorldSize];

    /// <summary>The part of tensor <paramref name="name"/> (global <paramref name="shape"/>) that <paramref name="rank"/> holds.</summary>
    public abstract RankShard ShardOf(string name, IReadOnlyList<long> shape, int rank);

    /// <summary>
    /// Refuses a world with more ranks than the largest tensor has elements: every rank beyond that would hold nothing of
    /// any tensor, and planning allocates per rank, so `--world-size 2147483647` must be refused before any of it.
    /// </summary>
    public void RequireFits(CheckpointManifest manifest, string checkpoint)
    {
        var largest = manifest.Tensors.Select(t => (t.Name, Elements: Shapes.TryElementCount(t.Shape) ?? long.MaxValue))
            .DefaultIfEmpty((Name: (string)null!, Elements: 1)).MaxBy(t => t.Elements);
        if (WorldSize > largest.Elements)
            throw new CheckpointFormatException(FormatErrorReason.OptionOutOfRange, checkpoint, largest.Name,
                $"a world of {WorldSize} ranks is more than the largest tensor has elements, so most ranks would hold nothing",
                expected: $"at most {largest.Elements} ranks", found: $"{WorldSize}");
    }

    protected void CheckRank(int rank)
    {
        if (rank < 0 || rank >= WorldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is outside a world of {WorldSize}");
    }

    public override string ToString() => Description;
}
