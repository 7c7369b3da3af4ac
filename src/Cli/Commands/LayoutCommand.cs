using Ckpt.Inspection;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt layout`: the options of <see cref="LayoutVerb"/>, a <see cref="CheckpointLayout"/>, a summary, JSON or an HTML chart.</summary>
static class LayoutCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(LayoutVerb.Definition, LayoutVerb.Bind, (request, asJson, _) =>
    {
        if (request.Html is string target) OutputFile.Check(target, [request.Checkpoint], request.Overwrite);
        using var ckpt = CheckpointSetView.OpenCheckpointOrSet(request.Checkpoint);
        var filter = request.Filter;
        var layout = CheckpointLayout.Of(ckpt.Manifest, filter);
        // The report is for a browser; the terminal still gets the figures, and where the report went.
        VerbCommand.ChartAnswer(stdout, asJson, request.Html, "layout", InspectionJson.Layout(ckpt.Path, layout, ModuleTree.Of(ckpt.Manifest, filter)),
            $"Layout of {ckpt.Path}", () => WriteHuman(stdout, ckpt, layout));
    });

    static void WriteHuman(TextWriter o, Checkpoint ckpt, CheckpointLayout layout)
    {
        o.WriteLine($"{ckpt.Path}: {layout.TensorCount} tensors in {layout.FragmentCount} fragments, {ByteSize.Format(layout.TotalBytes)}");
        // A single-process save has no writer ranks: its bytes are told by file alone, not by one "rank ?".
        if (layout.Ranks.All(r => r is null)) o.WriteLine($"  written by one process, in {layout.Files.Count} {(layout.Files.Count == 1 ? "file" : "files")}");
        else
        {
            var shares = layout.RankSharesOfMean();
            for (int r = 0; r < layout.Ranks.Count; r++)
                o.WriteLine($"  {(layout.Ranks[r] is int v ? $"rank {v}" : "rank ?"),-10} {ByteSize.Format(layout.BytesOfRank(r)),10}  {shares[r]:0.000}× mean");
        }
        foreach (var (f, i) in layout.Files.Select((f, i) => (f, i)).Take(50))
            o.WriteLine($"  {f,-40} {ByteSize.Format(layout.BytesOfFile(i)),10}");
        if (layout.Files.Count > 50) o.WriteLine($"  … {layout.Files.Count - 50} more files (--json for all)");
    }
}
