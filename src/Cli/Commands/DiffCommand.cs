using Ckpt.Inspection;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt diff`: the options of <see cref="DiffVerb"/>, a <see cref="CheckpointDiff"/>, a summary, JSON or an HTML chart.</summary>
static class DiffCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(DiffVerb.Definition, DiffVerb.Bind, (request, asJson, ct) =>
    {
        if (request.Html is string target) OutputFile.Check(target, [request.Base, request.Compared], request.Overwrite);
        using var ca = CheckpointSetView.OpenCheckpointOrSet(request.Base, ct);
        using var cb = CheckpointSetView.OpenCheckpointOrSet(request.Compared, ct);
        var report = CheckpointDiff.Compare(ca, cb, request.Filter, cancellationToken: ct);
        VerbCommand.ChartAnswer(stdout, asJson, request.Html, "diff", InspectionJson.Diff(report), $"{ca.Path} → {cb.Path}", () => WriteHuman(stdout, report));
    });

    static void WriteHuman(TextWriter o, DiffReport r)
    {
        o.WriteLine($"{r.PathA} → {r.PathB}: {r.Changes.Count} compared, {r.Added.Count} added, {r.Removed.Count} removed, " +
                    $"{r.Reshaped.Count} reshaped, {r.DTypeChanged.Count} dtype changed");
        foreach (var t in r.Added) o.WriteLine($"  + {t.Name} {t.DType} {Shapes.Format(t.Shape)}");
        foreach (var t in r.Removed) o.WriteLine($"  - {t.Name} {t.DType} {Shapes.Format(t.Shape)}");
        foreach (var t in r.Reshaped) o.WriteLine($"  ~ {t.Name} {Shapes.Format(t.ShapeA)} → {Shapes.Format(t.ShapeB)}");
        foreach (var t in r.DTypeChanged) o.WriteLine($"  ~ {t.Name} {t.DTypeA} → {t.DTypeB}");
        if (r.Changes.Count == 0) return;
        int w = Math.Min(60, r.Changes.Max(c => c.Name.Length));
        o.WriteLine();
        o.WriteLine($"  {"tensor".PadRight(w)}  {"relative L2",12} {"max |Δ|",12}");
        foreach (var c in r.Changes.OrderByDescending(c => c.RelativeL2).Take(50))
            o.WriteLine($"  {c.Name.PadRight(w)}  {DiffReport.NumberText(c.RelativeL2),12} {DiffReport.NumberText(c.MaxAbsDiff),12}");
        if (r.Changes.Count > 50) o.WriteLine($"  … {r.Changes.Count - 50} more (--json for all)");
    }
}
