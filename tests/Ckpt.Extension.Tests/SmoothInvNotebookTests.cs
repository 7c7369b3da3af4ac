using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Ckpt.Extension.Tests;

/// <summary>Runs notebooks/07-smoothinv.ipynb once through real Jupyter (nbconvert + the dotnet-interactive kernel).</summary>
public sealed class SmoothInvNotebookRun
{
    internal Lazy<JupyterRun> Run { get; } = new(() =>
    {
        LocalFeed.Prepare();
        return JupyterRun.Execute("notebooks/07-smoothinv.ipynb");
    });
}

[Trait("Category", "slow")]
public sealed class SmoothInvNotebookTests(SmoothInvNotebookRun run) : IClassFixture<SmoothInvNotebookRun>
{
    JupyterRun Notebook => run.Run.Value;

    static int InlinePngs(string html) => Regex.Matches(html, "<img src=\"data:image/png;base64,[A-Za-z0-9+/=]+\"").Count;

    [Fact]
    public void The_smoothinv_notebook_runs_with_no_cell_error()
    {
        var failed = Notebook.CellErrors();
        Assert.True(failed.Length == 0, string.Join("\n", failed));
    }

    [Fact]
    public void Synthesis_toward_7_shows_three_images_and_is_classified_7()
    {
        var cell = Notebook.Cell("#!ckpt-smoothinv ../tests/fixtures/smoothinv/backdoored-cnn.pt --image ../tests/fixtures/smoothinv/clean.png --target 7");
        Assert.Null(cell.ErrorValue);
        var html = WebUtility.HtmlDecode(cell.Text("text/html"));
        Assert.Equal(3, InlinePngs(html));
        Assert.Contains("difference, amplified for visibility", html);
        var text = Notebook.Cell("$\"image class {inverted.SourceClass}").Text("text/plain");
        Assert.Matches(@"^image class 2; synthesised toward 7: classified 7, ", text);
    }

    [Fact]
    public void The_scan_identifies_7_on_the_backdoored_classifier_and_not_on_the_clean_twin()
    {
        var cell = Notebook.Cell("#!ckpt-smoothinv ../tests/fixtures/smoothinv/backdoored-cnn.pt --image ../tests/fixtures/smoothinv/clean.png --scan");
        Assert.Null(cell.ErrorValue);
        var html = WebUtility.HtmlDecode(cell.Text("text/html"));
        Assert.Contains("Identified target: class 7", html);
        Assert.Single(cell.Figures());

        var text = Notebook.Cell("string.Join(\"\\n\", new[] { (\"backdoored\", scan)").Text("text/plain");
        var rows = Regex.Matches(text, @"(?<who>backdoored|clean twin): top class (?<c>\d+) score (?<s>[\d.]+), runner-up class \d+ score (?<r>[\d.]+)")
            .ToDictionary(m => m.Groups["who"].Value);
        Assert.True(rows.Count == 2, text);
        double V(string who, string g) => double.Parse(rows[who].Groups[g].Value, CultureInfo.InvariantCulture);
        Assert.Equal("7", rows["backdoored"].Groups["c"].Value);
        Assert.True(V("backdoored", "s") > 0.95, text);
        Assert.True(V("clean twin", "s") < V("backdoored", "s") - 0.2, text);
    }
}
