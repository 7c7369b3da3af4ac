namespace Ckpt.Cluster;

/// <summary>
/// This process's share of a verb's output on a cluster: process <see cref="Rank"/> of <see cref="Ranks"/> (a Slurm array
/// task, a Kubernetes completion index) writes output file i when i mod <see cref="Ranks"/> = <see cref="Rank"/>: the
/// data file of target rank i for reshard (so with as many processes as target ranks, process r writes rank r), shard i
/// for convert. Every process plans the whole output from the checkpoint's headers, so the split needs no coordination.
/// </summary>
public sealed record WorkShare(int Rank, int Ranks)
{
    public const string RankHelp = "This process's index among --ranks processes sharing the work (a Slurm array task id, a Kubernetes completion index); writes only its part, which `ckpt finalize` commits once every part exists.";
    public const string RanksHelp = "Number of processes sharing the work: process --rank writes the output files i with i mod --ranks = --rank (target ranks for reshard, shards for convert).";

    /// <summary>The share `--rank` and `--ranks` give, or null when neither is given.</summary>
    /// <exception cref="ArgumentException">Only one of them, or a rank outside 0..ranks-1.</exception>
    public static WorkShare? From(int? rank, int? ranks)
    {
        if (rank is null && ranks is null) return null;
        if (ranks is null) throw new ArgumentException("--rank needs --ranks, the number of processes sharing the work");
        if (rank is null) throw new ArgumentException("--ranks needs --rank, this process's index from 0");
        if (ranks < 1) throw new ArgumentException($"--ranks {ranks} must be at least 1");
        if (rank < 0 || rank >= ranks) throw new ArgumentException($"--rank {rank} must be between 0 and {ranks - 1} for --ranks {ranks}");
        return new WorkShare(rank.Value, ranks.Value);
    }

    /// <summary>Whether this process writes output file <paramref name="index"/>.</summary>
    public bool Owns(int index) => index % Ranks == Rank;
}
