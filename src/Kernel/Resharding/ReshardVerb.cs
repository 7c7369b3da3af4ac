using System.Diagnostics;
using Ckpt.Conversion;
using Ckpt.Outputs;

namespace Ckpt.Resharding;

/// <summary>What `ckpt reshard` / `#!ckpt-reshard` was asked; without <see cref="Output"/> a run only plans.</summary>
public sealed record ReshardRequest(string Path, LayoutRequest Layout, string? Output, IReadOnlyList<string> Only, bool Overwrite, Cluster.WorkShare? Share = null);

/// <summary>
/// `ckpt reshard` and `#!ckpt-reshard`: every option once, and the one binding to <see cref="ReshardRequest"/>. Both
/// surfaces plan only when `--out` is not given (reading headers, no tensor bytes), so a layout can be tried first.
/// </summary>
public static class ReshardVerb
{
    public static readonly Verb Definition = new("reshard", "#!ckpt-reshard",
        "Rewrite a checkpoint as a PyTorch DCP checkpoint for a target parallel layout, reading only what each rank needs; without --out, only plan.",
        [
            new("--path", "A checkpoint file or folder, any readable format.", OptionKind.Path) { Positional = true, Required = true, Noun = "checkpoint" },
            new("--world-size", "Number of target ranks (the mesh product when --mesh is given).", OptionKind.Integer),
            new("--mesh", "Device mesh, e.g. 2x2 (ranks row-major)."),
            new("--placements", "One per mesh dimension, e.g. \"Shard(0),Replicate()\"; Shard(0) when not given on a 1-D mesh."),
            new("--layout", "dtensor (placements), flat (FSDP flat shards) or tp (Megatron tensor-parallel rules).") { Default = "dtensor" },
            new("--gated", "With --layout tp: fc1 holds [gate; up] halves (SwiGLU).", OptionKind.Flag),
            new("--out", "Output folder for the DCP checkpoint; without it, only plan (nothing is read or written).", OptionKind.Path),
            new("--overwrite", OutputFolder.OverwriteHelp, OptionKind.Flag),
            new("--only", "Tensor name globs to keep, e.g. model.**") { Many = true },
            new("--rank", Cluster.WorkShare.RankHelp, OptionKind.Integer),
            new("--ranks", Cluster.WorkShare.RanksHelp, OptionKind.Integer),
            VerbOption.CliJson("Print a JSON report: per rank bytes read vs needed, per phase times."),
            VerbOption.MagicName("Bind the result (the rank plans when nothing is written) to this C# variable."),
        ])
    {
        MagicUsage = "#!ckpt-reshard <path> --world-size N [--mesh AxB] [--placements ...] [--out dir]",
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static ReshardRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        var layout = new LayoutRequest(v.Required("--layout"), v.Integer("--world-size"), v.Text("--mesh"), v.Text("--placements"), v.Flag("--gated"));
        var share = Cluster.WorkShare.From(v.Integer("--rank"), v.Integer("--ranks"));
        if (share is not null && v.Text("--out") is null) throw new ArgumentException("--rank and --ranks need --out: each process writes its part of it");
        return new ReshardRequest(v.Required("--path"), layout, v.Text("--out"), v.All("--only").ToArray(), v.Flag("--overwrite"), share);
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
