using System.Runtime.Loader;
using System.Text.Json;
using Ckpt.Extension.Visualisation;
using Microsoft.DotNet.Interactive.Events;

namespace Ckpt.Extension.Tests;

public sealed class VisualisationTests : IDisposable
{
    readonly KernelHarness _harness = new();

    static string Trajectory(string step) => TestPaths.Fixture($"trajectory-llama-micro/{step}.safetensors");

    static IReadOnlyList<(string Plotly, string Html)> Charts(Microsoft.DotNet.Interactive.KernelCommandResult result) =>
        result.Events.OfType<DisplayEvent>()
            .Where(e => e.FormattedValues.Any(v => v.MimeType == ChartOutput.PlotlyMimeType))
            .Select(e => (e.FormattedValues.Single(v => v.MimeType == ChartOutput.PlotlyMimeType).Value,
                          e.FormattedValues.Single(v => v.MimeType == "text/html").Value))
            .ToList();

    [Fact]
    public async Task Layout_magic_shows_three_plotly_figures_with_json_and_html_and_inline_plotly_js()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-layout \"{FixtureFacts.Llama}\"");
        KernelHarness.AssertSucceeded(result);
        var charts = Charts(result);
        Assert.Equal(3, charts.Count); // a single-process checkpoint: fragments and bytes by file, no rank charts
        foreach (var (plotly, _) in charts)
        {
            using var figure = JsonDocument.Parse(plotly);
            Assert.True(figure.RootElement.GetProperty("data").GetArrayLength() > 0);
        }
        var types = charts.Select(c => JsonDocument.Parse(c.Plotly).RootElement.GetProperty("data")[0].GetProperty("type").GetString()).ToList();
        Assert.Equal(["scatter", "bar", "treemap"], types);
        // plotly.js itself, once per session: in the first chart's HTML, never a CDN script tag.
        Assert.Contains(PlotlyJsLoader, charts[0].Html);
        Assert.All(charts.Skip(1), c => Assert.DoesNotContain(PlotlyJsLoader, c.Html));
        Assert.All(charts, c => Assert.DoesNotContain("<script src=", c.Html));
        Assert.All(charts, c => Assert.Contains("Plotly.newPlot", c.Html));
        Assert.All(charts, c => Assert.Contains("window.ckptPlotlyWaiting", c.Html));
    }

    // The gzipped plotly.js is unpacked by this browser API: present only where the library itself is inlined.
    const string PlotlyJsLoader = "DecompressionStream";

    [Fact]
    public async Task Plotly_js_goes_into_a_session_once_and_again_only_when_its_cell_is_run_again()
    {
        var layout = $"#!ckpt-layout \"{FixtureFacts.Llama}\"";
        var first = Charts(await _harness.SubmitAsync(layout));
        var other = Charts(await _harness.SubmitAsync($"#!ckpt-stats \"{FixtureFacts.Llama}\" model.norm.weight"));
        var again = Charts(await _harness.SubmitAsync(layout));
        Assert.Contains(PlotlyJsLoader, first[0].Html);
        Assert.True(first[0].Html.Length < 2_000_000, $"{first[0].Html.Length} characters");
        Assert.NotEmpty(other);
        Assert.All(other, c => Assert.DoesNotContain(PlotlyJsLoader, c.Html));
        Assert.Contains(PlotlyJsLoader, again[0].Html);
    }

    [Fact]
    public async Task Charts_run_in_their_own_load_context_with_the_FSharp_Core_Plotly_NET_needs()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-layout \"{FixtureFacts.Llama}\""));
        var context = ChartRendering.Context;
        Assert.NotSame(AssemblyLoadContext.Default, context);
        var fsharp = context.Assemblies.Single(a => a.GetName().Name == "FSharp.Core");
        Assert.True(fsharp.GetName().Version >= new Version(10, 1), fsharp.GetName().Version?.ToString());
        Assert.Contains(context.Assemblies, a => a.GetName().Name == "Plotly.NET");
        Assert.DoesNotContain(AssemblyLoadContext.Default.Assemblies, a => a.GetName().Name is "Plotly.NET" or "Ckpt.Charts");
    }

    [Fact]
    public async Task Diff_magic_takes_two_checkpoints_and_charts_per_layer_change()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-diff \"{Trajectory("step-0025")}\" \"{Trajectory("step-0400")}\"");
        KernelHarness.AssertSucceeded(result);
        var html = KernelHarness.Html(result);
        Assert.Contains("21 compared, 0 added, 0 removed", html);
        var layers = JsonDocument.Parse(Charts(result)[0].Plotly).RootElement.GetProperty("data")[0].GetProperty("x");
        Assert.Contains("model.layers.1", layers.EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public async Task Stats_magic_reads_a_bound_variable_and_timeline_charts_that_read()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-load \"{Trajectory("step-0400")}\" --name late"));
        var stats = await _harness.SubmitAsync("#!ckpt-stats late model.layers.1.mlp.down_proj.weight --bins 16");
        KernelHarness.AssertSucceeded(stats);
        Assert.Contains("model.layers.1.mlp.down_proj.weight", KernelHarness.Html(stats));
        var histogram = JsonDocument.Parse(Charts(stats)[0].Plotly).RootElement.GetProperty("data")[0];
        Assert.Equal(16, histogram.GetProperty("y").GetArrayLength());

        var timeline = await _harness.SubmitAsync("#!ckpt-timeline");
        KernelHarness.AssertSucceeded(timeline);
        Assert.Contains("stats", KernelHarness.Html(timeline));
        Assert.Single(Charts(timeline));
    }

    [Fact]
    public async Task A_tensor_glob_that_matches_nothing_fails_with_one_sentence()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-layout \"{FixtureFacts.Llama}\" --tensor nothing.**");
        var failed = KernelHarness.Failure(result);
        Assert.NotNull(failed);
        Assert.Contains("no tensor", failed!.Message);
        Assert.DoesNotContain(" at ", failed.Message);
    }

    public void Dispose() => _harness.Dispose();
}
