using Ckpt.Training;

namespace Ckpt.Extension.Training;

/// <summary>The live chart of a running fine-tune: loss per step, and for DPO the reward metrics beside it.</summary>
sealed class LiveLossChart(KernelInvocationContext context, Recipe recipe, int plannedSteps)
    : LiveChart<TrainingProgress>(context, "finetune")
{
    /// <summary>At most one redraw per interval: a step on a small model takes milliseconds, a redraw ships every point.</summary>
    internal static TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(0.5);

    /// <summary>Points drawn at most: every redraw ships them all, so a long run is drawn at a stride (its last step always).</summary>
    internal const int MaxPoints = 1000;

    protected override TimeSpan RedrawInterval => Interval;

    public void Show() => Show("loading the model");

    /// <summary>
    /// Called when the cell is stopped: redraws the chart as it stands and says that the run ends after its current
    /// step, saving that step's adapter, since the cell's output closes before the run does.
    /// </summary>
    public void Stopping(string output)
    {
        int completed;
        lock (Items) completed = Items.Count == 0 ? 0 : Items[^1].Step;
        Publish("stopping", first: false, withPlotly: true);
        var text = completed == 0
            ? $"Stopping: the run ends after its current step and saves that step's adapter in {output}."
            : $"Stopping after step {completed} or the step in progress: the run saves the adapter of its last completed step in {output} (checkpoints/ holds the same step, resumable with --resume).";
        Context.DisplayAs("<p class=\"ckpt-stopping\">" + System.Net.WebUtility.HtmlEncode(text) + "</p>", HtmlFormatter.MimeType);
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

    protected override JsonObject Input(string state) => new()
    {
        ["recipe"] = recipe.ToString().ToLowerInvariant(),
        ["totalSteps"] = Items.Count > 0 ? Items[^1].TotalSteps : plannedSteps,
        ["state"] = state,
        ["steps"] = new JsonArray(Thin(Items, MaxPoints).Select(p => (JsonNode)new JsonObject
        {
            ["step"] = p.Step,
            ["loss"] = p.Loss,
            ["tokensPerSecond"] = p.TokensPerSecond,
            ["metrics"] = new JsonObject(p.Metrics.Where(kv => double.IsFinite(kv.Value))
                .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        }).ToArray()),
    };
}
