using System.Diagnostics;
using Ckpt.Conversion;
using Ckpt.Outputs;

namespace Ckpt.Resharding;

/// <summary>What `ckpt reshard` / `#!ckpt-reshard` was asked; without <see cref="Output"/> a run only plans.</summary>
public sealed record ReshardRequest(string Path, LayoutRequest Layout, string? Output, IReadOnlyList<string> Only, bool Overwrite, Cluster.WorkShare? Share = null);

/// <summary>
/// `ckpt reshard` and `#!ckpt-reshard`: the options <see cref="Given"/> declares, and the one binding to
/// <see cref="ReshardRequest"/>. Both surfaces plan only when `--out` is not given (reading headers, no tensor bytes),
/// so a layout can be tried first.
/// </summary>
public static class ReshardVerb
{
    /// <summary>The options as given; <see cref="Bind"/> builds the layout and the work share from them.</summary>
    public sealed class Given
    {
        [Option("--path", "A checkpoint file or folder, any readable format.", Path = true, Positional = true, Required = true, Noun = "checkpoint")]
        public string? Path { get; init; }

        [Option("--world-size", "Number of target ranks (the mesh product when --mesh is given).")]
        public int? WorldSize { get; init; }

        [Option("--mesh", "Device mesh, e.g. 2x2 (ranks row-major).")]
        public string? Mesh { get; init; }

        [Option("--placements", "One per mesh dimension, e.g. \"Shard(0),Replicate()\"; Shard(0) when not given on a 1-D mesh.")]
        public string? Placements { get; init; }

        [Option("--layout", "dtensor (placements), flat (FSDP flat shards) or tp (Megatron tensor-parallel rules).")]
        public LayoutKind Layout { get; init; } = LayoutKind.Dtensor;

        [Option("--gated", "With --layout tp: fc1 holds [gate; up] halves (SwiGLU).")]
        public bool Gated { get; init; }

        [Option("--out", "Output folder for the DCP checkpoint; without it, only plan (nothing is read or written).", Path = true)]
        public string? Output { get; init; }

        [Option("--overwrite", OutputFolder.OverwriteHelp)]
        public bool Overwrite { get; init; }

        [Option("--only", "Tensor name globs to keep, e.g. model.**")]
        public IReadOnlyList<string> Only { get; init; } = [];

        [Option("--rank", Cluster.WorkShare.RankHelp)]
        public int? Rank { get; init; }

        [Option("--ranks", Cluster.WorkShare.RanksHelp)]
        public int? Ranks { get; init; }
    }

    public static readonly Verb Definition = Verb.Of<Given>("reshard", "#!ckpt-reshard",
        "Rewrite a checkpoint as a PyTorch DCP checkpoint for a target parallel layout, reading only what each rank needs; without --out, only plan.",
        [
            VerbOption.CliJson("Print a JSON report: per rank bytes read vs needed, per phase times."),
            VerbOption.MagicName("Bind the result (the rank plans when nothing is written) to this C# variable."),
        ],
        magicUsage: "#!ckpt-reshard <path> --world-size N [--mesh AxB] [--placements ...] [--out dir]");

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static ReshardRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var g = Definition.Bind<Given>(given);
        var layout = new LayoutRequest(g.Layout, g.WorldSize, g.Mesh, g.Placements, g.Gated);
        var share = Cluster.WorkShare.From(g.Rank, g.Ranks);
        if (share is not null && g.Output is null) throw new ArgumentException("--rank and --ranks need --out: each process writes its part of it");
        return new ReshardRequest(g.Path!, layout, g.Output, g.Only.ToArray(), g.Overwrite, share);
    }

    /// <summary>Every rank's plan and the seconds planning it took: a run without `--out`.</summary>
    public static IReadOnlyList<(RankPlan Plan, double Seconds)> Plan(CheckpointManifest manifest, TargetLayout layout, IReadOnlyList<string> only,
        Planning.ReadTuning? tuning = null)
    {
        var filter = new TensorFilter(only);
        return Enumerable.Range(0, layout.WorldSize).Select(rank =>
        {
            var clock = Stopwatch.StartNew();
            var plan = ReshardPlanner.Plan(manifest, layout, rank, t => filter.Includes(t.Name), tuning);
            return (plan, clock.Elapsed.TotalSeconds);
        }).ToArray();
    }
}
