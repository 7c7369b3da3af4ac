using System.CommandLine;
using Ckpt.Charts;
using Ckpt.Conversion;
using Ckpt.Inspection;
using Ckpt.Manifest;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

static class DiffCommand
{
    public static Command Create(TextWriter stdout)
    {
        var a = new Argument<string>("a") { Description = "the base checkpoint" };
        var b = new Argument<string>("b") { Description = "the checkpoint compared with it" };
        var tensor = new Option<string[]>("--tensor") { Description = "tensor name globs to compare", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var html = new Option<string?>("--html") { Description = "write a standalone HTML report (plotly.js inlined, opens offline)" };
        var overwrite = new Option<bool>("--overwrite") { Description = OutputFile.OverwriteHelp };
        var command = new Command("diff", "Tensors added, removed, reshaped or re-typed, and the relative L2 and max abs change of the rest; reads one tensor pair at a time.")
            { a, b, tensor, json, html, overwrite };
        command.SetAction((parse, ct) =>
        {
            if (parse.GetValue(html) is string target) OutputFile.Check(target, [parse.GetValue(a), parse.GetValue(b)], parse.GetValue(overwrite));
            using var ca = CheckpointSetView.OpenCheckpointOrSet(parse.GetValue(a)!, ct);
            using var cb = CheckpointSetView.OpenCheckpointOrSet(parse.GetValue(b)!, ct);
            var report = CheckpointDiff.Compare(ca, cb, new TensorFilter(parse.GetValue(tensor) ?? []), cancellationToken: ct);
            var input = InspectionJson.Diff(report);
            if (parse.GetValue(html) is string file)
            {
                OutputFile.WriteAllText(file, ChartRenderer.Document("diff", input.ToJsonString(), $"{ca.Path} → {cb.Path}"));
                if (!parse.GetValue(json)) stdout.WriteLine($"wrote {file}");
            }
            if (parse.GetValue(json)) stdout.WriteLine(ManifestJson.Serialize(input));
            else if (parse.GetValue(html) is null) WriteHuman(stdout, report);
            return Task.FromResult(0);
        });
        return command;
    }

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
            o.WriteLine($"  {c.Name.PadRight(w)}  {c.RelativeL2,12:G5} {c.MaxAbsDiff,12:G5}");
        if (r.Changes.Count > 50) o.WriteLine($"  … {r.Changes.Count - 50} more (--json for all)");
    }
}
