using System.Text.Json.Nodes;
using Ckpt.Extension.Visualisation;
using Ckpt.Merging;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// One displayed value for a running LCSC search, redrawn in place (`update_display_data`) at most once per
/// <see cref="Interval"/>, and always once at the end. Generations arrive on the search thread through
/// <see cref="IProgress{T}"/>; the handler's own flow publishes, so events never leave the cell's context from
/// another thread. plotly.js rides in the first and the last output only: the first loads it into the page, the
/// last stays in the saved notebook.
/// </summary>
sealed class LiveSearchChart(KernelInvocationContext context, IReadOnlyList<string> checkpoints, int budget, string metric)
    : IProgress<LcscGeneration>
{
    /// <summary>At most one redraw per interval (ML.NET's notebook monitor waits 5 s; a search generation is usually faster).</summary>
    internal static TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    readonly string _valueId = Guid.NewGuid().ToString("N");
    readonly List<LcscGeneration> _generations = [];
    double? _start;
    int _drawn = -1;

    /// <summary>Updates published so far (the first display excluded).</summary>
    public int Updates { get; private set; }

    public void Report(LcscGeneration value)
    {
        lock (_generations) _generations.Add(value);
    }

    /// <summary>The uniform starting point's metric, drawn as the first point once known.</summary>
    public void Started(double metric)
    {
        lock (_generations) _start = metric;
    }

    public void Show() => Publish("loading checkpoints", first: true, withPlotly: true);

    /// <summary>Redraws until <paramref name="search"/> ends, no more often than <see cref="Interval"/>.</summary>
    public async Task FollowAsync(Task search)
    {
        while (!search.IsCompleted)
        {
            await Task.WhenAny(search, Task.Delay(Interval));
            int count;
            lock (_generations) count = _generations.Count;
            if (count != _drawn && !search.IsCompleted) Publish("running", first: false, withPlotly: false);
        }
    }

    public void Finish(string state) => Publish(state, first: false, withPlotly: true);

    void Publish(string state, bool first, bool withPlotly)
    {
        JsonObject input;
        lock (_generations)
        {
            _drawn = _generations.Count;
            input = new JsonObject
            {
                ["metric"] = metric,
                ["budget"] = budget,
                ["state"] = state,
                ["start"] = _start,
                ["checkpoints"] = new JsonArray(checkpoints.Select(c => (JsonNode)ShortName(c)).ToArray()),
                ["generations"] = new JsonArray(_generations.Select(g => (JsonNode)new JsonObject
                {
                    ["index"] = g.Index,
                    ["evaluations"] = g.Evaluations,
                    ["best"] = g.BestMetric,
                    ["generationBest"] = double.IsFinite(g.GenerationBest) ? g.GenerationBest : null,
                    ["coefficients"] = new JsonArray(g.BestCoefficients.Select(c => (JsonNode)c).ToArray()),
                }).ToArray()),
            };
        }
        var rendered = ChartRendering.Render("lcsc", input);
        var chart = rendered.Charts[0];
        var html = (withPlotly ? ChartOutput.PlotlyLoader() : "") + rendered.SummaryHtml + chart.Html;
        FormattedValue[] values =
        [
            new(ChartOutput.PlotlyMimeType, chart.Figure.ToJsonString()),
            new(HtmlFormatter.MimeType, html),
        ];
        if (first) context.Publish(new DisplayedValueProduced(chart.Title, context.Command, values, _valueId));
        else
        {
            context.Publish(new DisplayedValueUpdated(chart.Title, _valueId, context.Command, values));
            Updates++;
        }
    }

    static string ShortName(string path)
    {
        var name = Path.GetFileName(path.TrimEnd('/', '\\'));
        foreach (var ext in new[] { ".safetensors", ".pt", ".pth", ".bin" })
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) return name[..^ext.Length];
        return name;
    }
}
