namespace Ckpt.Charts;

/// <summary>
/// A RESTOR report (the Kernel's RestorJson): per model, clean-answer accuracy beside corrupted-answer accuracy as
/// grouped bars, and per unlearned model recovery and forgetting; the summary tables and the per-fact drill-down.
/// </summary>
static class RestorCharts
{
    public static (IReadOnlyList<Chart>, string) Build(JsonObject r)
    {
        var models = r["models"]!.AsArray().Select(m => m!.AsObject()).ToList();
        var unlearned = r["unlearned"]!.AsArray().Select(u => u!.AsObject()).ToList();
        var labels = models.Select(m => m["label"]!.GetValue<string>()).ToArray();
        int facts = r["facts"]!.GetValue<int>();

        var accuracy = new PlotlyFigure($"RESTOR: answers on {facts} facts, per model", 420);
        accuracy.Trace("bar", ("name", "clean answer (accuracy)"), ("x", labels), ("y", models.Select(m => m["accuracy"]!.GetValue<double>()).ToArray()),
                ("marker", Obj(("color", Palette.Of(2)))), ("hovertemplate", "%{x}: %{y:.1%} clean answers<extra></extra>"))
            .Trace("bar", ("name", "corrupted answer"), ("x", labels), ("y", models.Select(m => m["corruptedAccuracy"]!.GetValue<double>()).ToArray()),
                ("marker", Obj(("color", Palette.Of(3)))), ("hovertemplate", "%{x}: %{y:.1%} corrupted answers<extra></extra>"))
            .Layout("barmode", "group")
            .Layout("yaxis", Obj(("title", Obj(("text", "share of facts"))), ("range", new[] { 0.0, 1.05 }), ("tickformat", ".0%")));

        var charts = new List<Chart> { accuracy.ToChart("restor-accuracy", "Accuracy") };
        var ulabels = unlearned.Select(u => u["label"]!.GetValue<string>()).ToArray();
        var measures = new PlotlyFigure("RESTOR: recovery and forgetting per unlearned model (1 = back to the clean model)", 380);
        measures.Trace("bar", ("name", "recovery"), ("x", ulabels), ("y", unlearned.Select(u => Value(u["recovery"])).ToArray()),
                ("marker", Obj(("color", Palette.Of(0)))), ("hovertemplate", "%{x}: recovery %{y:.3f}<extra></extra>"))
            .Trace("bar", ("name", "forgetting"), ("x", ulabels), ("y", unlearned.Select(u => Value(u["forgetting"])).ToArray()),
                ("marker", Obj(("color", Palette.Of(1)))), ("hovertemplate", "%{x}: forgetting %{y:.3f}<extra></extra>"))
            .Layout("barmode", "group")
            .Layout("yaxis", Obj(("title", Obj(("text", "normalised to clean − corrupted"))), ("zeroline", true)));
        charts.Add(measures.ToChart("restor-recovery", "Recovery"));

        string P(JsonNode? v) => v!.GetValue<double>().ToString("0.0%", CultureInfo.InvariantCulture);
        string R(JsonNode? v) => v is null ? "undefined" : v.GetValue<double>().ToString("0.000", CultureInfo.InvariantCulture);
        var modelRows = models.Select(m =>
        {
            var u = unlearned.FirstOrDefault(x => x["label"]!.GetValue<string>() == m["label"]!.GetValue<string>() && m["role"]!.GetValue<string>() == "unlearned");
            return (IReadOnlyList<string>)
            [
                m["label"]!.GetValue<string>(), P(m["accuracy"]), P(m["corruptedAccuracy"]),
                u is null ? "" : R(u["recovery"]), u is null ? "" : R(u["forgetting"]),
                u is null ? "" : $"{u["recovered"]} recovered, {u["notRecovered"]} not, {u["kept"]} kept, {u["lost"]} lost",
            ];
        });
        var summary = $"<p>RESTOR on {facts} facts: greedy answers, matched to each fact's answers (docs/restor.md). " +
                      "Recovery = (unlearned − corrupted) / (clean − corrupted) on accuracy; forgetting = (corrupted − unlearned) / (corrupted − clean) on corrupted answers; " +
                      "undefined where the corruption left that accuracy unchanged.</p>" +
                      Html.Table(["model", "accuracy", "corrupted answers", "recovery", "forgetting", "facts"], modelRows.ToList());

        if (r["factResults"] is JsonArray factResults)
        {
            var rows = factResults.Select(f => f!.AsObject()).Select(f => (IReadOnlyList<string>)
            [
                f["id"]!.GetValue<string>(),
                f["prompt"]!.GetValue<string>(),
                string.Join(" | ", f["answers"]!.AsArray().Select(a => a!.GetValue<string>())),
                string.Join(" | ", f["corruptedAnswers"]!.AsArray().Select(a => a!.GetValue<string>())),
                .. f["outputs"]!.AsArray().Select(o => o!.AsObject()).Select(o =>
                    (o["clean"]!.GetValue<bool>() ? "✓ " : o["corrupted"]!.GetValue<bool>() ? "✗ " : "· ") + o["output"]!.GetValue<string>()),
                .. ulabels.Select(l => f["outcomes"]![l]!.GetValue<string>()),
            ]).ToList();
            string[] headers = ["id", "prompt", "answers", "corrupted answers", .. labels, .. ulabels.Select(l => l + " outcome")];
            summary += $"<details><summary>Per fact: what each model answered (✓ clean answer, ✗ corrupted answer, · neither) and, per unlearned model, " +
                       $"whether the fact came back (recovered), stayed lost (notRecovered), survived (kept) or was lost by unlearning (lost)</summary>" +
                       Html.Table(headers, rows, maxRows: 2000) + "</details>";
        }
        return (charts, summary);
    }

    static object? Value(JsonNode? v) => v?.GetValue<double>();
}
