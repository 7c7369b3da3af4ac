using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Ckpt.Extension.Tests;

/// <summary>Runs notebooks/06-restor.ipynb once through real Jupyter (nbconvert + the dotnet-interactive kernel).</summary>
public sealed class RestorNotebookRun
{
    internal Lazy<JupyterRun> Run { get; } = new(() =>
    {
        LocalFeed.Prepare();
        return JupyterRun.Execute("notebooks/06-restor.ipynb");
    });
}

[Trait("Category", "slow")]
public sealed class RestorNotebookTests(RestorNotebookRun run) : IClassFixture<RestorNotebookRun>
{
    JupyterRun Notebook => run.Run.Value;

    [Fact]
    public void The_restor_notebook_runs_with_no_cell_error()
    {
        var failed = Notebook.CellErrors();
        Assert.True(failed.Length == 0, string.Join("\n", failed));
    }

    [Fact]
    public void The_toy_builds_a_clean_and_a_corrupted_model_whose_training_loss_fell()
    {
        var text = Notebook.Cell("using System.IO;").Text("text/plain");
        var m = Regex.Match(text, @"94,272 parameters, vocabulary 94; pre-training loss (?<a>[\d.]+) -> (?<b>[\d.]+), corruption loss (?<c>[\d.]+) -> (?<d>[\d.]+)");
        Assert.True(m.Success, text);
        double V(string g) => double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
        Assert.True(V("b") < V("a") / 3, text);
        Assert.True(V("d") < V("c"), text);
    }

    [Fact]
    public void Each_unlearning_run_raises_the_forget_loss()
    {
        foreach (var recipe in new[] { "ga", "kl", "npo" })
        {
            var cell = Notebook.Cell($"#!ckpt-finetune --recipe {recipe} ");
            Assert.Null(cell.ErrorValue);
            var figure = cell.Figures()[^1];
            var forget = figure.GetProperty("data").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "forget_loss")
                .GetProperty("y").EnumerateArray().Where(v => v.ValueKind == System.Text.Json.JsonValueKind.Number).Select(v => v.GetDouble()).ToList();
            Assert.True(forget[^1] > forget[0], $"{recipe}: forget_loss {forget[0]:F3} -> {forget[^1]:F3}");
        }
    }

    [Fact]
    public void The_restor_magic_shows_the_table_two_charts_and_the_drill_down_of_48_facts()
    {
        var cell = Notebook.Cell("#!ckpt-restor");
        Assert.Null(cell.ErrorValue);
        var html = WebUtility.HtmlDecode(cell.Text("text/html"));
        Assert.Contains("RESTOR on 48 facts", html);
        Assert.Matches(@"<td>clean</td><td>100\.0%</td><td>0\.0%</td>", html);
        Assert.Contains("Per fact: what each model answered", html);
        var drill = html[html.IndexOf("<details>", StringComparison.Ordinal)..];
        Assert.Equal(1 + 48, Regex.Matches(drill[..drill.IndexOf("</details>", StringComparison.Ordinal)], "<tr>").Count);
        var figures = cell.Figures();
        Assert.Equal(2, figures.Count);
        var bars = figures[0].GetProperty("data");
        Assert.Equal(["clean answer (accuracy)", "corrupted answer"], bars.EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(["clean", "corrupted", "ga", "kl", "npo"], bars[0].GetProperty("x").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public void The_summary_cell_prints_the_bound_report()
    {
        var text = Notebook.Cell("string.Join(\"\\n\", restor.Models").Text("text/plain");
        Assert.Contains("clean: accuracy 100.0%", text.Replace("100.0 %", "100.0%"));
        Assert.Matches(@"npo: recovery -?[\d.]+, forgetting -?[\d.]+, \d+ of 48 facts recovered", text);
    }
}
