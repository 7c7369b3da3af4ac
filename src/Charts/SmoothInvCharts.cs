namespace Ckpt.Charts;

/// <summary>
/// A SmoothInv scan (the Kernel's SmoothInvResult as JSON): the score of every class as bars, the identified target in
/// its own colour, and the table of scores, smoothed probabilities and trigger norms.
/// </summary>
static class SmoothInvCharts
{
    public static (IReadOnlyList<Chart>, string) Build(JsonObject r)
    {
        var scores = r["scores"]!.AsArray().Select(s => s!.AsObject()).OrderBy(s => s["class"]!.GetValue<int>()).ToList();
        int target = r["target"]!.GetValue<int>();
        var classes = scores.Select(s => s["class"]!.GetValue<int>().ToString(CultureInfo.InvariantCulture)).ToArray();
        var figure = new PlotlyFigure($"SmoothInv scan: score per class (identified target: class {target})", 380);
        figure.Trace("bar", ("name", "score"), ("x", classes), ("y", scores.Select(s => s["score"]!.GetValue<double>()).ToArray()),
                ("marker", Obj(("color", scores.Select(s => s["class"]!.GetValue<int>() == target ? Palette.Of(3) : Palette.Of(0)).ToArray()))),
                ("hovertemplate", "class %{x}: score %{y:.4f}<extra></extra>"))
            .Layout("xaxis", Obj(("title", Obj(("text", "class"))), ("type", "category")))
            .Layout("yaxis", Obj(("title", Obj(("text", "mean probability of the class with its change applied"))), ("range", new[] { 0.0, 1.05 })));

        string F(JsonNode? v) => v!.GetValue<double>().ToString("0.0000", CultureInfo.InvariantCulture);
        var rows = r["scores"]!.AsArray().Select(s => s!.AsObject()).Select(s => (IReadOnlyList<string>)
        [
            s["class"]!.GetValue<int>().ToString(CultureInfo.InvariantCulture) + (s["class"]!.GetValue<int>() == target ? " (target)" : ""),
            F(s["score"]), F(s["smoothedProbability"]), F(s["norm"]),
        ]);
        var summary = $"<p>Identified target: class {target}. Score of class k: the mean probability the classifier gives k when k's synthesised " +
                      "change is added to the clean image and to every other class's synthesised image (docs/forensics.md); ranked best first.</p>" +
                      Html.Table(["class", "score", "smoothed p", "trigger L2"], rows.ToList());
        return ([figure.ToChart("smoothinv-scan", "Scan")], summary);
    }
}
