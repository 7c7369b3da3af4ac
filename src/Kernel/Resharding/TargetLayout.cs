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

    protected void CheckRank(int rank)
    {
        if (rank < 0 || rank >= WorldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is outside a world of {WorldSize}");
    }

    public override string ToString() => Description;
}
