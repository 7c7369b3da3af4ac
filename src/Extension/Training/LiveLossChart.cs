using System.Text.Json.Nodes;
using Ckpt.Extension.Visualisation;
using Ckpt.Training;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace Ckpt.Extension.Training;

/// <summary>
/// One displayed value for a running fine-tune, redrawn in place (`update_display_data`) at most once per
/// <see cref="Interval"/> and always once at the end, as the `#!ckpt-lcsc` chart does. Steps arrive on the training
/// thread through <see cref="IProgress{T}"/> and are only collected there; the handler's own flow publishes, so no
/// event leaves the cell's context from another thread. plotly.js rides in the first and the last output only.
/// </summary>
sealed class LiveLossChart(KernelInvocationContext context, Recipe recipe, int plannedSteps) : IProgress<TrainingProgress>
{
    /// <summary>At most one redraw per interval: a step on a small model takes milliseconds, a redraw ships every point.</summary>
    internal static TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(0.5);

    /// <summary>Points drawn at most: every redraw ships them all, so a long run is drawn at a stride (its last step always).</summary>
    internal const int MaxPoints = 1000;

    readonly string _valueId = Guid.NewGuid().ToString("N");
    readonly List<TrainingProgress> _steps = [];
    int _drawn = -1;

    /// <summary>Updates published so far (the first display excluded).</summary>
    public int Updates { get; private set; }

    public void Report(TrainingProgress value)
    {
        lock (_steps) _steps.Add(value);
    }

    public void Show() => Publish("loading the model", first: true, withPlotly: true);

    /// <summary>Redraws until <paramref name="run"/> ends, no more often than <see cref="Interval"/>.</summary>
    public async Task FollowAsync(Task run)
    {
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(Interval));
            int count;
            lock (_steps) count = _steps.Count;
            if (count != _drawn && !run.IsCompleted) Publish("running", first: false, withPlotly: false);
        }
    }

    public void Finish(string state) => Publish(state, first: false, withPlotly: true);

    /// <summary>
    /// Called when the cell is stopped: redraws the chart as it stands and says that the run ends after its current
    /// step, saving that step's adapter, since the cell's output closes before the run does.
    /// </summary>
    public void Stopping(string output)
    {
        int completed;
        lock (_steps) completed = _steps.Count == 0 ? 0 : _steps[^1].Step;
        Publish("stopping", first: false, withPlotly: true);
        var text = completed == 0
            ? $"Stopping: the run ends after its current step and saves that step's adapter in {output}."
            : $"Stopping after step {completed} or the step in progress: the run saves the adapter of its last completed step in {output} (checkpoints/ holds the same step, resumable with --resume).";
        context.DisplayAs("<p class=\"ckpt-stopping\">" + System.Net.WebUtility.HtmlEncode(text) + "</p>", HtmlFormatter.MimeType);
    }

    /// <summary>Every k-th of <paramref name="steps"/> (k the smallest stride that fits), ending with the last one.</summary>
    internal static IReadOnlyList<T> Thin<T>(IReadOnlyList<T> steps, int max)
    {
        if (steps.Count <= max) return steps;
        int stride = (steps.Count + max - 2) / (max - 1);
        var kept = new List<T>(max);
        for (int i = 0; i < steps.Count - 1; i += stride) kept.Add(steps[i]);
        kept.Add(steps[^1]);
        return kept;
    }

    void Publish(string state, bool first, bool withPlotly)
    {
        JsonObject input;
        lock (_steps)
        {
            _drawn = _steps.Count;
            input = new JsonObject
            {
                ["recipe"] = recipe.ToString().ToLowerInvariant(),
                ["totalSteps"] = _steps.Count > 0 ? _steps[^1].TotalSteps : plannedSteps,
                ["state"] = state,
                ["steps"] = new JsonArray(Thin(_steps, MaxPoints).Select(p => (JsonNode)new JsonObject
                {
                    ["step"] = p.Step,
                    ["loss"] = p.Loss,
                    ["tokensPerSecond"] = p.TokensPerSecond,
                    ["metrics"] = new JsonObject(p.Metrics.Where(kv => double.IsFinite(kv.Value))
                        .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                }).ToArray()),
            };
        }
        var rendered = ChartRendering.Render("finetune", input);
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
}
