namespace Ckpt.Charts;

/// <summary>
/// An LCSC search as one figure, redrawn as it runs: the best metric so far against evaluations (x fixed to the
/// budget, so the box does not jump between updates), each generation's best as markers, and beside it the best
/// coefficient per checkpoint.
/// </summary>
static class LcscCharts
{
    public static (IReadOnlyList<Chart>, string) Build(JsonObject s)
    {
        var generations = s["generations"]!.AsArray().Select(g => g!.AsObject()).ToList();
        var checkpoints = s["checkpoints"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray();
        var metric = s["metric"]?.GetValue<string>() ?? "metric";
        int budget = s["budget"]!.GetValue<int>();
        double? start = s["start"]?.GetValue<double>();

        var x = generations.Select(g => g["evaluations"]!.GetValue<int>()).ToList();
        var best = generations.Select(g => g["best"]!.GetValue<double>()).ToList();
        if (start is { } s0) { x.Insert(0, 1); best.Insert(0, s0); }
        var fig = new PlotlyFigure($"LCSC: best {metric}", 420);
        fig.Trace("scatter", ("mode", "lines+markers"), ("name", "best so far"), ("x", x.ToArray()), ("y", best.ToArray()),
            ("line", Obj(("shape", "hv"), ("color", Palette.Of(0)))),
            ("hovertemplate", "%{x} evaluations<br>best %{y:.6g}<extra></extra>"));
        fig.Trace("scatter", ("mode", "markers"), ("name", "generation best"),
            ("x", generations.Select(g => g["evaluations"]!.GetValue<int>()).ToArray()),
            ("y", generations.Select(g => g["generationBest"]!.GetValue<double>()).Select(v => double.IsFinite(v) ? (object)v : null).ToArray()),
            ("marker", Obj(("color", Palette.Of(1)), ("size", 5))),
            ("hovertemplate", "generation ending at %{x} evaluations<br>%{y:.6g}<extra></extra>"));
        var coefficients = generations.Count > 0
            ? generations[^1]["coefficients"]!.AsArray().Select(c => c!.GetValue<double>()).ToArray()
            : Enumerable.Repeat(1.0 / Math.Max(1, checkpoints.Length), checkpoints.Length).ToArray();
        fig.Trace("bar", ("name", "coefficients"), ("x", checkpoints), ("y", coefficients), ("xaxis", "x2"), ("yaxis", "y2"),
            ("marker", Obj(("color", coefficients.Select(c => c < 0 ? Palette.Of(3) : Palette.Of(2)).ToArray()))),
            ("hovertemplate", "%{x}<br>α = %{y:.4f}<extra></extra>"));
        fig.Layout("xaxis", Obj(("domain", new[] { 0.0, 0.55 }), ("range", new[] { 0.0, Math.Max(2, budget) }), ("title", Obj(("text", "evaluations")))))
            .Layout("yaxis", Obj(("title", Obj(("text", metric))), ("automargin", true)))
            .Layout("xaxis2", Obj(("domain", new[] { 0.65, 1.0 }), ("anchor", "y2"), ("type", "category"), ("automargin", true)))
            .Layout("yaxis2", Obj(("anchor", "x2"), ("title", Obj(("text", "coefficient"))), ("zeroline", true)))
            .Layout("showlegend", true)
            .Layout("legend", Obj(("orientation", "h"), ("y", -0.25)));

        var last = generations.Count > 0 ? generations[^1] : null;
        var state = s["state"]?.GetValue<string>() ?? "running";
        var summary = last is null
            ? $"<p class=\"ckpt-lcsc-state\">LCSC over {checkpoints.Length} checkpoints: {Html.Escape(state)}.</p>"
            : $"<p class=\"ckpt-lcsc-state\">LCSC over {checkpoints.Length} checkpoints, {Html.Escape(state)}: generation {last["index"]!.GetValue<int>() + 1}, " +
              $"{last["evaluations"]} of {budget} evaluations, best {Html.Escape(metric)} " +
              $"{last["best"]!.GetValue<double>().ToString("G6", CultureInfo.InvariantCulture)}.</p>";
        return ([fig.ToChart("lcsc", "LCSC search")], summary);
    }
}
