namespace Ckpt.Charts;

/// <summary>Diff of two checkpoints: per-layer relative L2, the most-changed tensors, and tables of structural changes.</summary>
static class DiffCharts
{
    const int MaxTensorBars = 40;

    public static (IReadOnlyList<Chart>, string) Build(JsonObject input)
    {
        var layers = input["layers"]!.AsArray().Select(n => n!.AsObject()).ToList();
        var changes = input["changes"]!.AsArray().Select(n => n!.AsObject()).ToList();
        var charts = new List<Chart>();
        if (layers.Count > 0)
        {
            charts.Add(new PlotlyFigure("Relative L2 change per layer ‖b−a‖ / ‖a‖", 420)
                .Trace("bar",
                    ("x", layers.Select(l => l["layer"]!.GetValue<string>()).ToArray()),
                    ("y", layers.Select(l => Num(l["relativeL2"])).ToArray()),
                    ("customdata", layers.Select(l => new object?[] { Fmt(Num(l["relativeL2"])), Fmt(Num(l["maxAbsDiff"])), l["tensors"]!.GetValue<int>() }).ToArray()),
                    ("hovertemplate", "%{x}<br>relative L2 %{customdata[0]}<br>max |Δ| %{customdata[1]}<br>%{customdata[2]} tensors<extra></extra>"),
                    ("marker", Obj(("color", Palette.Of(0)))))
                .Layout("xaxis", Obj(("type", "category"), ("automargin", true)))
                .Layout("yaxis", Obj(("title", Obj(("text", "relative L2"))), ("rangemode", "tozero")))
                .ToChart("diff-layers", "Relative L2 change per layer"));
        }
        var top = changes.OrderByDescending(c => Num(c["relativeL2"]) ?? double.PositiveInfinity).Take(MaxTensorBars).Reverse().ToList();
        if (top.Count > 0)
        {
            var shown = LayoutCharts.Shown(top.Count, changes.Count, "tensor", "--tensor <glob> chooses");
            charts.Add(new PlotlyFigure($"Most-changed tensors by relative L2 ({shown})", Math.Max(320, 22 * top.Count + 120))
                .Trace("bar", ("orientation", "h"),
                    ("y", top.Select(c => c["name"]!.GetValue<string>()).ToArray()),
                    ("x", top.Select(c => Num(c["relativeL2"])).ToArray()),
                    ("customdata", top.Select(c => new[] { Fmt(Num(c["relativeL2"])), Fmt(Num(c["maxAbsDiff"])) }).ToArray()),
                    ("hovertemplate", "%{y}<br>relative L2 %{customdata[0]}<br>max |Δ| %{customdata[1]}<extra></extra>"),
                    ("marker", Obj(("color", Palette.Of(1)))))
                .Layout("yaxis", Obj(("type", "category"), ("automargin", true)))
                .Layout("xaxis", Obj(("title", Obj(("text", "relative L2"))), ("rangemode", "tozero")))
                .ToChart("diff-tensors", "Most-changed tensors"));
        }

        var added = input["added"]!.AsArray();
        var removed = input["removed"]!.AsArray();
        var reshaped = input["reshaped"]!.AsArray();
        var dtypes = input["dtypeChanged"]!.AsArray();
        var summary = new System.Text.StringBuilder();
        summary.Append($"<p><b>{Html.Escape(input["a"]?.GetValue<string>())}</b> → <b>{Html.Escape(input["b"]?.GetValue<string>())}</b>: ");
        summary.Append($"{changes.Count} compared, {added.Count} added, {removed.Count} removed, {reshaped.Count} reshaped, {dtypes.Count} dtype changed.</p>");
        if (added.Count > 0) summary.Append("<h3>Added</h3>").Append(Html.Table(["tensor", "dtype", "shape"], added.Select(t => Row(t!, "name", "dtype", "shape"))));
        if (removed.Count > 0) summary.Append("<h3>Removed</h3>").Append(Html.Table(["tensor", "dtype", "shape"], removed.Select(t => Row(t!, "name", "dtype", "shape"))));
        if (reshaped.Count > 0) summary.Append("<h3>Reshaped</h3>").Append(Html.Table(["tensor", "shape a", "shape b"], reshaped.Select(t => Row(t!, "name", "shapeA", "shapeB"))));
        if (dtypes.Count > 0) summary.Append("<h3>Dtype changed</h3>").Append(Html.Table(["tensor", "dtype a", "dtype b"], dtypes.Select(t => Row(t!, "name", "dtypeA", "dtypeB"))));
        if (changes.Count > 0)
            summary.Append("<details><summary>Per-tensor change</summary>")
                .Append(Html.Table(["tensor", "elements", "relative L2", "max |Δ|"],
                    changes.OrderByDescending(c => Num(c["relativeL2"]) ?? double.PositiveInfinity)
                        .Select(c => (IReadOnlyList<string>)[c["name"]!.GetValue<string>(), c["elements"]!.ToJsonString(), Fmt(Num(c["relativeL2"])), Fmt(Num(c["maxAbsDiff"]))]), 200))
                .Append("</details>");
        return (charts, summary.ToString());
    }

    static IReadOnlyList<string> Row(JsonNode t, params string[] keys) =>
        keys.Select(k => t[k] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String ? v.GetValue<string>() : t[k]?.ToJsonString() ?? "").ToList();

    internal static double? Num(JsonNode? n) => n is null ? null : n.GetValue<double>();

    static string Fmt(double? v) => Ckpt.Inspection.ChangeText.Format(v);
}
