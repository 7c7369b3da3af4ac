using System.Text;
using Ckpt.Training;

namespace Ckpt.Extension.Training;

/// <summary>
/// The summary `#!ckpt-finetune` shows when a run ends: one sentence, then a table of what the run did. Numeric cells
/// carry a class and the raw number in `data-value`, for readers and tests; every value is escaped.
/// </summary>
static class FineTuningHtml
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Summary(FineTuningResult r)
    {
        int last = r.StartStep + r.StepsCompleted;
        var html = new StringBuilder("<p class=\"ckpt-summary\">");
        html.Append(HtmlText.Encode(r.Cancelled
            ? r.StepsCompleted == 0 && r.StartStep == 0
                ? $"Stopped before the first step finished: no {r.Saved} was written."
                : $"Stopped at step {last} of {r.TotalSteps}: the {r.Saved} of step {last}, the last completed one, is saved in {r.AdapterDirectory}."
            : $"{r.Recipe.ToString().ToUpperInvariant()} finished {r.TotalSteps} steps on {r.Examples} examples{(r.PackedRows is int rows ? $" packed into {rows} rows" : "")} in {r.Elapsed.TotalSeconds.ToString("F1", Invariant)} s; the {r.Saved} is in {r.AdapterDirectory}."));
        html.Append("</p><table class=\"ckpt-finetune\"><tbody>");
        Row(html, "steps", "steps", $"{r.StartStep + 1}-{last} of {r.TotalSteps}", last);
        if (r.Last is { } p)
        {
            Row(html, "final loss", "final-loss", p.Loss.ToString("F4", Invariant), p.Loss);
            foreach (var (k, v) in p.Metrics.Where(kv => kv.Key.StartsWith("rewards/", StringComparison.Ordinal)
                         || kv.Key is "eval_loss" || kv.Key.StartsWith("eval_rewards/", StringComparison.Ordinal)
                         || kv.Key.StartsWith("forget_", StringComparison.Ordinal) || kv.Key.StartsWith("retain_", StringComparison.Ordinal) || kv.Key.StartsWith("npo/", StringComparison.Ordinal)))
                Row(html, k.Replace('_', ' '), k.Replace('/', '-').Replace('_', '-'), v.ToString("F4", Invariant), v);
        }
        Row(html, "tokens/s", "tokens-per-second", r.MeanTokensPerSecond.ToString("F0", Invariant), r.MeanTokensPerSecond);
        Row(html, "trainable parameters", "trainable", string.Create(Invariant,
            $"{r.TrainableParameters:N0} of {r.TotalParameters:N0} ({100.0 * r.TrainableParameters / Math.Max(1, r.TotalParameters):F2}%)"), r.TrainableParameters);
        if (r.QuantizedBase is { } q)
            Row(html, "NF4 base", "nf4-bytes-per-parameter", string.Create(Invariant, $"{q.Layers} layers, {q.BytesPerParameter:F4} bytes/param"), q.BytesPerParameter);
        Row(html, "saves", "saves", r.Saves.Count.ToString(Invariant), r.Saves.Count);
        if (r.MaxSaveStallMs is { } longest)
        {
            Row(html, "longest save stall", "max-save-stall-ms", longest.ToString("F1", Invariant) + " ms", longest);
            var stalls = string.Join(", ", r.Saves.Select(s => string.Create(Invariant, $"step {s.Step}: {s.Stall.TotalMilliseconds:F1} ms{(s.Async ? "" : " (sync)")}")));
            Row(html, "save stalls", "save-stalls", stalls, null);
        }
        if (r.DroppedExamples > 0) Row(html, "dropped examples", "dropped", $"{r.DroppedExamples} (prompt fills --max-length)", r.DroppedExamples);
        Row(html, r.Saved, r.Saved, r.AdapterDirectory, null);
        Row(html, "resumable state", "checkpoints", r.CheckpointDirectory, null);
        html.Append("</tbody></table>");
        return html.ToString();
    }

    static void Row(StringBuilder html, string label, string cls, string text, double? value)
    {
        html.Append("<tr><th>").Append(HtmlText.Encode(label)).Append("</th><td class=\"").Append(cls).Append('"');
        if (value is { } v) html.Append(" data-value=\"").Append(v.ToString("R", Invariant)).Append('"');
        html.Append('>').Append(HtmlText.Encode(text)).Append("</td></tr>");
    }

}
