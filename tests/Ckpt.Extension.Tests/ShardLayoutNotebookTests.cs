using System.Net;
using System.Text.Json;

namespace Ckpt.Extension.Tests;

/// <summary>Runs notebooks/02-shard-layout.ipynb once through real Jupyter (nbconvert + the dotnet-interactive kernel).</summary>
public sealed class ShardLayoutNotebookRun
{
    internal Lazy<JupyterRun> Run { get; } = new(() =>
    {
        LocalFeed.Prepare();
        return JupyterRun.Execute("notebooks/02-shard-layout.ipynb");
    });
}

[Trait("Category", "slow")]
public sealed class ShardLayoutNotebookTests(ShardLayoutNotebookRun run) : IClassFixture<ShardLayoutNotebookRun>
{
    const string PlotlyMime = ExecutedCell.PlotlyMime;
    // The gzipped plotly.js is unpacked by this browser API: present only where the library itself is inlined.
    const string PlotlyJsLoader = "DecompressionStream";

    JupyterRun Notebook => run.Run.Value;

    static IReadOnlyList<JsonElement> Figures(ExecutedCell cell) => cell.Figures();

    [Fact]
    public void The_shard_layout_notebook_runs_with_no_cell_error()
    {
        var failed = Notebook.CellErrors();
        Assert.True(failed.Length == 0, string.Join("\n", failed));
    }

    [Theory]
    [InlineData("#!ckpt-layout ../tests/fixtures/hf-llama-tiny-sharded\n", 3)]
    [InlineData("#!ckpt-layout ../tests/fixtures/hf-llama-tiny-sharded --tensor", 3)]
    [InlineData("#!ckpt-diff", 2)]
    [InlineData("#!ckpt-stats", 1)]
    [InlineData("#!ckpt-timeline", 1)]
    public void Chart_cells_carry_plotly_figures_and_html_that_waits_for_plotly_js_in_the_real_host(string cellStart, int charts)
    {
        var cell = Notebook.Cells.Single(c => c.Source.StartsWith(cellStart.TrimEnd('\n'), StringComparison.Ordinal)
                                              && (!cellStart.EndsWith('\n') || !c.Source.Contains("--tensor")));
        Assert.Null(cell.ErrorValue);
        var figures = Figures(cell);
        Assert.Equal(charts, figures.Count);
        Assert.All(figures, f => Assert.True(f.GetProperty("data").GetArrayLength() > 0));
        var html = cell.Text("text/html");
        Assert.Contains("window.ckptPlotlyWaiting", html);
        Assert.DoesNotContain("<script src=", html);
        // plotly.js mentions its CDN as a default for map topojson; no script or stylesheet is loaded from it.
        Assert.DoesNotContain("src=\"https://cdn.plot.ly", html);
        Assert.DoesNotContain("requirejs.config", html);
    }

    [Fact]
    public void Plotly_js_goes_into_the_notebook_once_and_the_executed_notebook_stays_under_2_MB()
    {
        var carriers = Notebook.Cells.Where(c => c.Text("text/html").Contains(PlotlyJsLoader, StringComparison.Ordinal)).ToList();
        var carrier = Assert.Single(carriers);
        Assert.StartsWith("#!ckpt-layout", carrier.Source);
        Assert.True(Notebook.NotebookBytes < 2_000_000, $"executed notebook 02 is {Notebook.NotebookBytes:N0} bytes");
    }

    [BrowserFact]
    public void Its_nbconvert_html_export_draws_every_chart_in_chromium_with_no_network()
    {
        var missing = NotebookInBrowserTests.Missing();
        Assert.True(missing is null, missing);
        var charts = Notebook.Cells.Sum(c => c.Figures().Count);
        var folder = Path.Combine(TestPaths.RepoRoot, "artifacts", "browser", "02-shard-layout-html");
        Directory.CreateDirectory(folder);
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-m", "nbconvert", "--to", "html", "--output-dir", folder, "--output", "02-shard-layout", Notebook.ExecutedPath })
            psi.ArgumentList.Add(a);
        using (var p = System.Diagnostics.Process.Start(psi)!)
        {
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err.Result);
        }
        var (code, output) = NotebookInBrowserTests.Node(Path.Combine(TestPaths.RepoRoot, "tests", "browser", "render-html.mjs"),
            Path.Combine(folder, "02-shard-layout.html"), Path.Combine(folder, "page.png"));
        Assert.True(code == 0, output);
        using var result = JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{')));
        Assert.Equal(charts, result.RootElement.GetProperty("plots").GetInt32());
        Assert.Equal(charts, result.RootElement.GetProperty("drawn").GetInt32());
    }

    [Fact]
    public void The_diff_cell_reports_every_tensor_of_the_micro_llama_compared()
    {
        var cell = Notebook.Cells.Single(c => c.Source.StartsWith("#!ckpt-diff", StringComparison.Ordinal));
        var tensors = Directory.Exists(TestPaths.Fixture("trajectory-llama-micro"))
            ? CountTensors(TestPaths.Fixture("trajectory-llama-micro/step-0400.safetensors")) : 0;
        Assert.Contains($"{tensors} compared, 0 added, 0 removed, 0 reshaped, 0 dtype changed", WebUtility.HtmlDecode(cell.Text("text/html")));
    }

    [Fact]
    public void In_the_real_host_the_charts_FSharp_Core_lives_beside_the_hosts_own()
    {
        var cell = Notebook.Cells.Single(c => c.Source.StartsWith("using System.Runtime.Loader;", StringComparison.Ordinal));
        Assert.Null(cell.ErrorValue);
        var lines = cell.Text("text/plain").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var charts = lines.Single(l => l.Contains("'Ckpt.Charts' load context"));
        var version = Version.Parse(charts.Split(' ')[1]);
        Assert.True(version >= new Version(10, 1), charts);
        // The host's own copy, older than Plotly.NET accepts: the reason for the separate context.
        var host = lines.Where(l => !l.Contains("'Ckpt.Charts'")).Select(l => Version.Parse(l.Split(' ')[1])).ToList();
        Assert.Contains(host, v => v < new Version(10, 1));
    }

    static int CountTensors(string safetensors)
    {
        using var f = File.OpenRead(safetensors);
        var len = new byte[8];
        f.ReadExactly(len);
        var header = new byte[BitConverter.ToInt64(len)];
        f.ReadExactly(header);
        using var doc = JsonDocument.Parse(header);
        return doc.RootElement.EnumerateObject().Count(p => p.Name != "__metadata__");
    }
}
