using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Ckpt.Extension.Tests;

/// <summary>Runs notebooks/03-reshard-and-merge.ipynb once through real Jupyter (nbconvert + the dotnet-interactive kernel).</summary>
public sealed class ReshardAndMergeNotebookRun
{
    internal Lazy<JupyterRun> Run { get; } = new(() =>
    {
        LocalFeed.Prepare();
        var output = Path.Combine(TestPaths.RepoRoot, "artifacts", "notebook-03");
        if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        return JupyterRun.Execute("notebooks/03-reshard-and-merge.ipynb");
    });
}

[Trait("Category", "slow")]
public sealed class ReshardAndMergeNotebookTests(ReshardAndMergeNotebookRun run) : IClassFixture<ReshardAndMergeNotebookRun>
{
    const string PlotlyMime = ExecutedCell.PlotlyMime;

    JupyterRun Notebook => run.Run.Value;

    static string Output(string name) => Path.Combine(TestPaths.RepoRoot, "artifacts", "notebook-03", name);
    static string Trajectory(string step) => TestPaths.Fixture($"trajectory-llama-micro/{step}.safetensors");

    ExecutedCell CellStarting(string start)
    {
        var cell = Notebook.Cell(start);
        Assert.True(cell.ErrorValue is null, $"{start}: {cell.ErrorValue}\n{string.Join("\n", cell.Traceback)}");
        return cell;
    }

    static double[] Column(ExecutedCell cell, string cls) =>
        Regex.Matches(cell.Text("text/html"), $"<td class=\"{cls}\" data-value=\"([^\"]+)\"")
            .Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();

    static string PlainText(ExecutedCell cell) => cell.Text("text/plain").Trim().Trim('"');

    [Fact]
    public void The_reshard_and_merge_notebook_runs_with_no_cell_error()
    {
        var failed = Notebook.CellErrors();
        Assert.True(failed.Length == 0, string.Join("\n", failed));
    }

    [Fact]
    public void The_reshard_cell_shows_three_ranks_each_reading_at_most_1_05_times_what_it_needs()
    {
        var cell = CellStarting("#!ckpt-reshard");
        Assert.Equal([0, 1, 2], Column(cell, "rank"));
        Assert.All(Column(cell, "ratio"), r => Assert.InRange(r, 0.999, 1.05));
        Assert.Equal(3, Column(cell, "phase-write").Length);
        Assert.Contains("Bound to the C# variable", cell.Text("text/html"));
    }

    [Fact]
    public void The_resharded_model_equals_the_reference_byte_for_byte()
    {
        var cell = CellStarting("// A script");
        Assert.StartsWith("39 of 39 tensors equal the reference byte for byte; 3 ranks", PlainText(cell));
        // Independently of the notebook's own check: three data files, each tensor's dim 0 split three ways.
        using var written = Checkpoint.Open(Output("fsdp2-3rank"));
        Assert.Equal(3, Directory.EnumerateFiles(Output("fsdp2-3rank"), "*.distcp").Count());
        Assert.Equal(3, written.Manifest.Find("model.model.embed_tokens.weight")!.Fragments.Count);
    }

    [Fact]
    public void The_layout_of_the_resharded_checkpoint_is_charted()
    {
        var cell = CellStarting("#!ckpt-layout");
        Assert.Contains(cell.Outputs, o => o.MimeType == PlotlyMime);
    }

    [Fact]
    public void The_convert_cell_writes_the_model_weights_as_bfloat16_without_the_wrapper_prefix()
    {
        var cell = CellStarting("#!ckpt-convert");
        Assert.Contains("Converted 39 tensors to safetensors", WebUtility.HtmlDecode(cell.Text("text/html")));
        using var converted = Checkpoint.Open(Output("model-bf16"));
        using var reference = Checkpoint.Open(TestPaths.Fixture("dcp-fsdp2-4rank/reference_full_model.safetensors"));
        Assert.Equal(reference.Manifest.Tensors.Select(t => t.Name).Order(), converted.Manifest.Tensors.Select(t => t.Name).Order());
        Assert.All(converted.Manifest.Tensors, t => Assert.Equal(Tensors.DType.BF16, t.DType));
    }

    [Fact]
    public void The_merged_midpoint_equals_half_of_each_input()
    {
        var cell = CellStarting("#!ckpt-merge --method linear");
        Assert.Equal([0.5, 0.5], Column(cell, "weight"));
        var check = CellStarting("double LargestDifference");
        var worst = double.Parse(Regex.Match(PlainText(check), @"0\.5·b: (\S+)$").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(worst <= 1e-6, PlainText(check));

        using var a = Checkpoint.Open(Trajectory("step-0375"));
        using var b = Checkpoint.Open(Trajectory("step-0400"));
        using var m = Checkpoint.Open(Output("midpoint"));
        foreach (var t in a.Manifest.Tensors)
        {
            using var x = a.Read(t.Name);
            using var y = b.Read(t.Name);
            using var z = m.Read(t.Name);
            var (xs, ys, zs) = (x.ToFloats(), y.ToFloats(), z.ToFloats());
            for (int i = 0; i < zs.Length; i++) Assert.True(Math.Abs(zs[i] - (0.5 * xs[i] + 0.5 * ys[i])) <= 1e-6, $"{t.Name}[{i}]");
        }
    }

    [Fact]
    public void The_ties_cell_reports_its_parameters()
    {
        var html = WebUtility.HtmlDecode(CellStarting("#!ckpt-merge --method ties").Text("text/html"));
        Assert.Contains("ties: merged 21 tensors", html);
        Assert.Contains("<td>density</td><td>0.5</td>", html);
    }

    [Fact]
    public void The_lcsc_cell_leaves_one_final_chart_and_finds_an_eval_loss_below_the_last_checkpoints()
    {
        var cell = CellStarting("#!ckpt-lcsc");
        var figure = Assert.Single(cell.Figures());
        var best = figure.GetProperty("data")[0].GetProperty("y").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.True(best.Length >= 3, $"{best.Length} points");
        Assert.True(best.Zip(best.Skip(1)).All(p => p.Second <= p.First), "the best metric never rises");
        Assert.Contains("done", cell.Text("text/html"));

        // PyTorch's losses of the same run (the fixture's reference_eval.json): the last checkpoint and the uniform last-4 average.
        using var reference = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("trajectory-llama-micro/reference_eval.json")));
        var lastLoss = reference.RootElement.GetProperty("per_checkpoint_eval_loss").GetProperty("step-0400.safetensors").GetDouble();
        var uniformLoss = reference.RootElement.GetProperty("uniform_last_4").GetDouble();

        using var log = JsonDocument.Parse(File.ReadAllText(Output("lcsc/lcsc_log.json")));
        var root = log.RootElement;
        Assert.StartsWith("eval-loss:", root.GetProperty("eval").GetString());
        Assert.Equal(["step-0325", "step-0350", "step-0375", "step-0400"],
            root.GetProperty("checkpoints").EnumerateArray().Select(c => Path.GetFileNameWithoutExtension(c.GetString()!)));
        var evaluations = root.GetProperty("evaluations").GetInt32();
        Assert.InRange(evaluations, 10, 40);
        // The search starts at the uniform average, whose loss is PyTorch's to float32 rounding.
        var first = root.GetProperty("history")[0];
        Assert.All(first.GetProperty("coefficients").EnumerateArray(), c => Assert.Equal(0.25, c.GetDouble(), 12));
        Assert.InRange(first.GetProperty("metric").GetDouble(), uniformLoss - 1e-4, uniformLoss + 1e-4);
        var loss = root.GetProperty("metric").GetDouble();
        Assert.True(loss < lastLoss, $"best eval loss {loss} is not below the last checkpoint's {lastLoss}");
        Assert.True(loss <= first.GetProperty("metric").GetDouble(), $"best eval loss {loss} is above the uniform start");
        Assert.Equal(loss, best[^1], 9);

        var coefficients = Column(cell, "coefficient");
        Assert.Equal(root.GetProperty("coefficients").EnumerateArray().Select(c => c.GetDouble()), coefficients);
        Assert.Equal(1.0, coefficients.Sum(), 9);
        Assert.Contains($"{evaluations} evaluations, eval loss {loss.ToString("F4", CultureInfo.InvariantCulture)}", PlainText(CellStarting("string.Join")));
    }
}
