using Ckpt.Monitoring;
using Ckpt.Resharding;

namespace Ckpt;

/// <summary>Load-time resharding from C#: <c>using var mine = ckpt.ReadForRank(DTensorLayout.Sharded(8), rank: 3);</c></summary>
public static class CheckpointResharding
{
    /// <summary>
    /// The tensors rank <paramref name="rank"/> of <paramref name="layout"/> holds, read without materialising
    /// any full tensor: each local tensor is filled from exactly the saved byte ranges it overlaps.
    /// </summary>
    public static RankTensors ReadForRank(this Checkpoint checkpoint, TargetLayout layout, int rank,
        Func<TensorEntry, bool>? include = null, CancellationToken cancellationToken = default)
    {
        var timeline = new OperationTimeline($"read rank {rank} of {layout.WorldSize}");
        var start = timeline.Now;
        var plan = ReshardPlanner.Plan(checkpoint.Manifest, layout, rank, include, checkpoint.Storage.Tuning);
        timeline.Record("plan", layout.Description, start, 0);
        return RankReader.Read(checkpoint.Storage, plan, 0, timeline, cancellationToken);
    }

    public static RankPlan PlanForRank(this Checkpoint checkpoint, TargetLayout layout, int rank, Func<TensorEntry, bool>? include = null) =>
        ReshardPlanner.Plan(checkpoint.Manifest, layout, rank, include, checkpoint.Storage.Tuning);
}
