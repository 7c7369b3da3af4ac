namespace Ckpt.Charts;

/// <summary>
/// A failure-recovery experiment: one loss curve per run (no failure, each recovery method) against the training
/// step, the failure marked, the recovery band (pre-failure loss plus the tolerance) shaded, and where each run
/// re-entered the band.
/// </summary>
static class RecoveryCharts
{
    public static (IReadOnlyList<Chart>, string) Build(JsonObject r)
    {
        int failure = r["failureStep"]!.GetValue<int>();
        double pre = r["preFailureLoss"]!.GetValue<double>();
        double tolerance = r["tolerance"]!.GetValue<double>();
        var curves = r["curves"]!.AsArray().Select(c => c!.AsObject()).ToList();
        var fig = new PlotlyFigure($"{r["title"]}: loss after losing stage {r["lostStage"]} at step {failure}", 460);
        var annotations = new List<object>();
        foreach (var (c, i) in curves.Select((c, i) => (c, i)))
        {
            var steps = c["steps"]!.AsArray().Select(s => s!.GetValue<int>()).ToArray();
            var loss = c["loss"]!.AsArray().Select(l => l!.GetValue<double>()).ToArray();
            var label = c["label"]!.GetValue<string>();
            fig.Trace("scatter", ("mode", "lines"), ("name", label), ("x", steps), ("y", loss),
                ("line", Obj(("color", Palette.Of(i)), ("width", 2))),
                ("hovertemplate", label + " step %{x}: loss %{y:.4f}<extra></extra>"));
            if (c["stepsToRecover"] is JsonNode k && k.GetValue<int>() > 0)
                annotations.Add(Obj(("x", failure + k.GetValue<int>()), ("y", loss[Array.IndexOf(steps, failure + k.GetValue<int>())]),
                    ("text", $"{label}: {k} steps"), ("showarrow", true), ("arrowcolor", Palette.Of(i)), ("font", Obj(("color", Palette.Of(i)))),
                    ("ax", 30), ("ay", -30 - 25 * i)));
        }
        fig.Layout("shapes", new object[]
            {
                Obj(("type", "line"), ("xref", "x"), ("yref", "paper"), ("x0", failure), ("x1", failure), ("y0", 0), ("y1", 1),
                    ("line", Obj(("color", "#7f7f7f"), ("dash", "dash")))),
                Obj(("type", "rect"), ("xref", "paper"), ("yref", "y"), ("x0", 0), ("x1", 1), ("y0", 0), ("y1", pre * (1 + tolerance)),
                    ("fillcolor", "rgba(44,160,44,0.08)"), ("line", Obj(("width", 0)))),
            })
            .Layout("annotations", annotations.ToArray())
            .Layout("xaxis", Obj(("title", Obj(("text", "training step")))))
            .Layout("yaxis", Obj(("title", Obj(("text", "loss"))), ("type", "log")))
            .Layout("hovermode", "x unified");
        string F(double x) => x.ToString("0.0000", CultureInfo.InvariantCulture);
        var rows = curves.Select(c => new[]
        {
            c["label"]!.GetValue<string>(),
            c["stepsToRecover"] is JsonNode k ? k.ToJsonString() : "not within the run",
            F(c["loss"]!.AsArray()[c["steps"]!.AsArray().Select(s => s!.GetValue<int>()).ToList().IndexOf(failure)]!.GetValue<double>()),
            F(c["loss"]!.AsArray()[^1]!.GetValue<double>()),
        }).ToArray();
        var summary = $"<p>Loss just before the failure {F(pre)}; recovered = back within {tolerance:P0} ({F(pre * (1 + tolerance))}).</p>" +
                      Html.Table(["run", "steps to recover", "loss right after the failure", "final loss"], rows);
        return ([fig.ToChart("recovery", "Recovery")], summary);
    }
}
