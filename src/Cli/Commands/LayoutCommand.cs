using System.CommandLine;
using Ckpt.Charts;
using Ckpt.Conversion;
using Ckpt.Inspection;
using Ckpt.Manifest;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

static class LayoutCommand
{
    public static Command Create(TextWriter stdout)
    {
        var path = new Argument<string>("path") { Description = "checkpoint file or folder" };
        var tensor = new Option<string[]>("--tensor") { Description = "tensor name globs to chart, e.g. 'model.layers.0.**'", AllowMultipleArgumentsPerToken = true };
        var html = new Option<string?>("--html") { Description = "write a standalone HTML report (plotly.js inlined, opens offline)" };
        var overwrite = new Option<bool>("--overwrite") { Description = OutputFile.OverwriteHelp };
        var json = new Option<bool>("--json") { Description = "print the layout as JSON (the chart input contract)" };
        var command = new Command("layout", "How a checkpoint's bytes spread over ranks and files, from its metadata; reads no tensor bytes.") { path, tensor, html, overwrite, json };
        command.SetAction(parse =>
        {
            if (parse.GetValue(html) is string target) OutputFile.Check(target, [parse.GetValue(path)], parse.GetValue(overwrite));
            using var ckpt = CheckpointSetView.OpenCheckpointOrSet(parse.GetValue(path)!);
            var filter = new TensorFilter(parse.GetValue(tensor) ?? []);
            var layout = ShardLayout.Of(ckpt.Manifest, filter);
            var input = InspectionJson.Layout(ckpt.Path, layout, ModuleTree.Of(ckpt.Manifest, filter));
            if (parse.GetValue(html) is string file)
            {
                OutputFile.WriteAllText(file, ChartRenderer.Document("layout", input.ToJsonString(), $"Layout of {ckpt.Path}"));
                if (!parse.GetValue(json)) stdout.WriteLine($"wrote {file}");
            }
            if (parse.GetValue(json)) stdout.WriteLine(ManifestJson.Serialize(input));
            else if (parse.GetValue(html) is null) WriteHuman(stdout, ckpt, layout);
            return 0;
        });
        return command;
    }

    static void WriteHuman(TextWriter o, Checkpoint ckpt, ShardLayout layout)
    {
        o.WriteLine($"{ckpt.Path}: {layout.TensorCount} tensors in {layout.FragmentCount} fragments, {ByteSize.Format(layout.TotalBytes)}");
        double mean = layout.Ranks.Count == 0 ? 0 : (double)layout.TotalBytes / layout.Ranks.Count;
        for (int r = 0; r < layout.Ranks.Count; r++)
        {
            long b = layout.BytesOfRank(r);
            o.WriteLine($"  {(layout.Ranks[r] is int v ? $"rank {v}" : "rank ?"),-10} {ByteSize.Format(b),10}  {(mean > 0 ? b / mean : 0):0.000}× mean");
        }
        foreach (var (f, i) in layout.Files.Select((f, i) => (f, i)).Take(50))
            o.WriteLine($"  {f,-40} {ByteSize.Format(layout.BytesOfFile(i)),10}");
        if (layout.Files.Count > 50) o.WriteLine($"  … {layout.Files.Count - 50} more files (--json for all)");
    }
}
