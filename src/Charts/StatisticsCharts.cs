namespace Ckpt.Charts;

/// <summary>One tensor's statistics: a histogram of its finite values and a summary line.</summary>
static class StatisticsCharts
{
    public static (IReadOnlyList<Chart>, string) Build(JsonObject s)
    {
        var edges = s["binEdges"]!.AsArray().Select(e => e!.GetValue<double>()).ToArray();
        var counts = s["binCounts"]!.AsArray().Select(c => c!.GetValue<long>()).ToArray();
        var centers = Enumerable.Range(0, counts.Length).Select(i => (edges[i] + edges[i + 1]) / 2).ToArray();
        var width = counts.Length > 0 ? edges[1] - edges[0] : 1;
        var name = s["name"]!.GetValue<string>();
        var charts = new List<Chart>
        {
            new PlotlyFigure($"{name}: histogram of finite values", 380)
                .Trace("bar", ("x", centers), ("y", counts), ("width", width),
                    ("customdata", Enumerable.Range(0, counts.Length).Select(i => new[] { edges[i], edges[i + 1] }).ToArray()),
                    ("hovertemplate", "[%{customdata[0]:.4g}, %{customdata[1]:.4g}): %{y}<extra></extra>"),
                    ("marker", Obj(("color", Palette.Of(0)))))
                .Layout("bargap", 0)
                .Layout("xaxis", Obj(("title", Obj(("text", "value")))))
                .Layout("yaxis", Obj(("title", Obj(("text", "count")))))
                .ToChart("histogram", $"{name} histogram"),
        };
        string F(string key) => s[key] is JsonNode n ? n.GetValue<double>().ToString("G6", CultureInfo.InvariantCulture) : "—";
        var summary = Html.Table(["tensor", "dtype", "shape", "elements", "min", "max", "mean", "std", "NaN", "+Inf", "−Inf", "zero fraction"],
            [[name, s["dtype"]!.GetValue<string>(), s["shape"]!.ToJsonString(), s["elements"]!.ToJsonString(), F("min"), F("max"), F("mean"), F("std"),
              s["nan"]!.ToJsonString(), s["posInf"]!.ToJsonString(), s["negInf"]!.ToJsonString(), F("zeroFraction")]]);
        return (charts, summary);
    }
}
