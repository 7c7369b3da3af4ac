namespace Ckpt.Charts;

/// <summary>Shard layout: fragment box map, rank × file heatmap, bytes per rank, module treemap.</summary>
static class LayoutCharts
{
    const int MaxFiles = 64;
    const double BandGap = 0.35;

    public static (IReadOnlyList<Chart>, string) Build(JsonObject input)
    {
        var ranks = input["ranks"]!.AsArray().Select(r => r?.GetValue<int>()).ToList();
        var files = input["files"]!.AsArray().Select(f => f!.GetValue<string>()).ToList();
        var bytes = input["bytes"]!.AsArray().Select(row => row!.AsArray().Select(v => v!.GetValue<long>()).ToArray()).ToArray();
        var rankLabels = ranks.Select(RankLabel).ToList();
        int tensorCount = input["tensorCount"]!.GetValue<int>();
        // A single-process save (safetensors, torch.save, HF shards) has no writer ranks: rank charts would show one
        // "rank ?" bar, so its bytes are charted by file.
        bool singleProcess = ranks.All(r => r is null);
        var charts = new List<Chart>();
        var boxes = BoxMap(input["tensors"]!.AsArray(), ranks, tensorCount);
        if (boxes is not null) charts.Add(boxes);
        if (singleProcess) charts.Add(FileBars(files, bytes));
        else
        {
            charts.Add(Heatmap(rankLabels, files, bytes));
            charts.Add(RankBars(rankLabels, bytes));
        }
        charts.Add(Treemap(input["modules"]!.AsObject()));

        long total = bytes.Sum(r => r.Sum());
        var spread = singleProcess ? $"written by one process in {Plural(files.Count, "file")}"
            : $"over {Plural(ranks.Count, "rank")} and {Plural(files.Count, "file")}";
        var summary = $"<p><b>{tensorCount}</b> tensors in <b>{input["fragmentCount"]}</b> fragments, {Palette.Bytes(total)} {spread}.</p>";
        return (charts, summary);
    }

    static string Plural(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";

    /// <summary>What a capped chart leaves out, and how to choose what it shows.</summary>
    internal static string Shown(int shown, int total, string noun, string option, string which = "") =>
        shown < total ? $"{shown} of {total} {noun}s{which}; {option}" : Plural(total, noun);

    static string RankLabel(int? r) => r is int v ? $"rank {v}" : "rank ?";

    static Chart? BoxMap(JsonArray tensors, List<int?> ranks, int tensorCount)
    {
        if (tensors.Count == 0) return null;
        var shapes = new JsonArray();
        // Without writer ranks (a single-process save) the fragments are told apart by file instead.
        bool byFile = ranks.All(r => r is null);
        var groups = byFile
            ? tensors.SelectMany(t => t!["fragments"]!.AsArray()).Select(f => f!["file"]!.GetValue<string>()).Distinct().ToList()
            : ranks.Select(RankLabel).ToList();
        var perGroup = groups.ToDictionary(g => g, _ => (X: new List<double>(), Y: new List<double>(), Text: new List<string>()));
        var tickVals = new List<double>();
        var tickText = new List<string>();
        double top = 0;
        foreach (var t in tensors.Select(n => n!.AsObject()))
        {
            var shape = Longs(t["shape"]);
            var (rows, cols) = shape.Length switch { 0 => (1L, 1L), 1 => (1L, shape[0]), _ => (shape[0], shape[1]) };
            double bandTop = top, bandHeight = 1;
            tickVals.Add(bandTop - bandHeight / 2);
            tickText.Add($"{t["name"]} {Shape(shape)}");
            foreach (var f in t["fragments"]!.AsArray().Select(n => n!.AsObject()))
            {
                var off = Longs(f["offsets"]);
                var len = Longs(f["lengths"]);
                var (r0, c0, nr, nc) = off.Length switch
                {
                    0 => (0L, 0L, 1L, 1L),
                    1 => (0L, off[0], 1L, len[0]),
                    _ => (off[0], off[1], len[0], len[1]),
                };
                double x0 = Ratio(c0, cols), x1 = Ratio(c0 + nc, cols);
                double y0 = bandTop - Ratio(r0, rows) * bandHeight, y1 = bandTop - Ratio(r0 + nr, rows) * bandHeight;
                int? rank = f["rank"]?.GetValue<int>();
                var group = byFile ? f["file"]!.GetValue<string>() : RankLabel(rank);
                var color = Palette.Of(groups.IndexOf(group));
                shapes.Add(new JsonObject
                {
                    ["type"] = "rect", ["x0"] = x0, ["x1"] = x1, ["y0"] = y0, ["y1"] = y1,
                    ["fillcolor"] = color, ["opacity"] = 0.75, ["line"] = new JsonObject { ["color"] = "white", ["width"] = 1 },
                });
                var p = perGroup[group];
                p.X.Add((x0 + x1) / 2);
                p.Y.Add((y0 + y1) / 2);
                p.Text.Add($"{t["name"]}<br>{(byFile ? "" : RankLabel(rank) + "<br>")}offsets {Shape(off)} lengths {Shape(len)}" +
                           $"<br>file {f["file"]} @ {f["payloadOffset"]} (+{f["payloadLength"]} B)<br>{Palette.Bytes(f["bytes"]!.GetValue<long>())}");
            }
            top -= bandHeight + BandGap;
        }

        var what = byFile ? "file" : "rank";
        var shown = Shown(tensors.Count, tensorCount, "tensor", "--tensor <glob> chooses", " (the largest)");
        var fig = new PlotlyFigure($"Tensor fragments by {what} (dim 0 down, dim 1 across): {shown}", Math.Max(320, 90 * tensors.Count + 120));
        foreach (var (group, p) in perGroup.Where(kv => kv.Value.X.Count > 0))
            fig.Trace("scatter", ("x", p.X), ("y", p.Y), ("mode", "markers"), ("name", group),
                ("text", p.Text), ("hoverinfo", "text"),
                ("marker", Obj(("color", Palette.Of(groups.IndexOf(group))), ("size", 7), ("line", Obj(("color", "white"), ("width", 1))))));
        fig.Layout("shapes", ToObjects(shapes))
            .Layout("xaxis", Obj(("range", new[] { -0.02, 1.02 }), ("showgrid", false), ("zeroline", false), ("title", Obj(("text", "fraction of dim 1")))))
            .Layout("yaxis", Obj(("tickvals", tickVals), ("ticktext", tickText), ("showgrid", false), ("zeroline", false),
                ("range", new[] { top + BandGap - 0.1, 0.1 }), ("automargin", true)));
        return fig.ToChart("boxmap", $"Tensor fragments by {what}");
    }

    static Chart Heatmap(List<string> rankLabels, List<string> files, long[][] bytes)
    {
        // Many files: keep the largest columns, pool the rest so the chart stays readable.
        var order = Enumerable.Range(0, files.Count).OrderByDescending(f => bytes.Sum(r => r[f])).ToList();
        var keep = order.Take(MaxFiles).OrderBy(f => f).ToList();
        var rest = order.Skip(MaxFiles).ToList();
        var x = keep.Select(f => files[f]).ToList();
        if (rest.Count > 0) x.Add($"({rest.Count} other files)");
        var z = bytes.Select(row => keep.Select(f => row[f]).Concat(rest.Count > 0 ? [rest.Sum(f => row[f])] : []).ToArray()).ToArray();
        var text = z.Select(row => row.Select(Palette.Bytes).ToArray()).ToArray();
        var fig = new PlotlyFigure("Bytes by rank × file", Math.Max(300, 40 * rankLabels.Count + 200))
            .Trace("heatmap", ("z", z), ("x", x), ("y", rankLabels), ("text", text), ("colorscale", "Viridis"),
                ("hovertemplate", "%{y}, %{x}: %{text}<extra></extra>"), ("colorbar", Obj(("title", Obj(("text", "bytes"))))))
            .Layout("xaxis", Obj(("automargin", true), ("type", "category")))
            .Layout("yaxis", Obj(("automargin", true), ("type", "category")));
        return fig.ToChart("heatmap", "Bytes by rank × file");
    }

    static Chart RankBars(List<string> rankLabels, long[][] bytes)
    {
        var perRank = bytes.Select(r => r.Sum()).ToArray();
        double mean = perRank.Length > 0 ? perRank.Average() : 0;
        double imbalance = mean > 0 ? perRank.Max() / mean : 1;
        var fig = new PlotlyFigure($"Bytes per rank (max / mean = {imbalance:0.000})", 380)
            .Trace("bar", ("x", rankLabels), ("y", perRank), ("text", perRank.Select(Palette.Bytes).ToArray()),
                ("hovertemplate", "%{x}: %{text}<extra></extra>"),
                ("marker", Obj(("color", Enumerable.Range(0, rankLabels.Count).Select(Palette.Of).ToArray()))))
            .Layout("shapes", ToObjects(new JsonArray(new JsonObject
            {
                ["type"] = "line", ["xref"] = "paper", ["x0"] = 0, ["x1"] = 1, ["y0"] = mean, ["y1"] = mean,
                ["line"] = new JsonObject { ["color"] = "#444", ["dash"] = "dash", ["width"] = 1 },
            })))
            .Layout("xaxis", Obj(("type", "category")))
            .Layout("yaxis", Obj(("title", Obj(("text", "bytes")))));
        return fig.ToChart("rank-bytes", "Bytes per rank");
    }

    static Chart FileBars(List<string> files, long[][] bytes)
    {
        var perFile = Enumerable.Range(0, files.Count).Select(f => bytes.Sum(r => r[f])).ToArray();
        var order = Enumerable.Range(0, files.Count).OrderByDescending(f => perFile[f]).Take(MaxFiles).OrderBy(f => f).ToList();
        var title = $"Bytes per file ({Palette.Bytes(perFile.Sum())} in all; {Shown(order.Count, files.Count, "file", "--tensor <glob> narrows", " (the largest)")})";
        var fig = new PlotlyFigure(title, 380)
            .Trace("bar", ("x", order.Select(f => files[f]).ToArray()), ("y", order.Select(f => perFile[f]).ToArray()),
                ("text", order.Select(f => Palette.Bytes(perFile[f])).ToArray()),
                ("hovertemplate", "%{x}: %{text}<extra></extra>"),
                ("marker", Obj(("color", order.Select(Palette.Of).ToArray()))))
            .Layout("xaxis", Obj(("type", "category"), ("automargin", true)))
            .Layout("yaxis", Obj(("title", Obj(("text", "bytes")))));
        return fig.ToChart("file-bytes", "Bytes per file");
    }

    static Chart Treemap(JsonObject modules)
    {
        var nodes = modules["nodes"]!.AsArray().Select(n => n!.AsObject()).ToList();
        var dtypes = nodes.Select(n => n["dtype"]!.GetValue<string>()).Distinct().OrderBy(d => d, StringComparer.Ordinal).ToList();
        var fig = new PlotlyFigure($"Parameters by module path (area = bytes; colour = dtype: {string.Join(", ", dtypes.Select((d, i) => $"{d} {Palette.NameOf(i)}"))})", 560)
            .Trace("treemap",
                ("ids", nodes.Select(n => n["id"]!.GetValue<string>()).ToArray()),
                ("labels", nodes.Select(n => n["label"]!.GetValue<string>()).ToArray()),
                ("parents", nodes.Select(n => n["parent"]!.GetValue<string>()).ToArray()),
                ("values", nodes.Select(n => n["bytes"]!.GetValue<long>()).ToArray()),
                ("branchvalues", "total"),
                ("customdata", nodes.Select(n => new object[] { Palette.Bytes(n["bytes"]!.GetValue<long>()), n["elements"]!.GetValue<long>(), n["dtype"]!.GetValue<string>(), n["tensors"]!.GetValue<int>() }).ToArray()),
                ("hovertemplate", "%{id}<br>%{customdata[0]}, %{customdata[1]:,} elements<br>%{customdata[2]}, %{customdata[3]} tensors<extra></extra>"),
                ("marker", Obj(("colors", nodes.Select(n => Palette.Of(dtypes.IndexOf(n["dtype"]!.GetValue<string>()))).ToArray()))),
                ("maxdepth", 4));
        return fig.ToChart("treemap", "Parameters by module path");
    }

    static double Ratio(long a, long b) => b == 0 ? 0 : (double)a / b;

    static long[] Longs(JsonNode? n) => n!.AsArray().Select(v => v!.GetValue<long>()).ToArray();

    static string Shape(long[] s) => "[" + string.Join(", ", s) + "]";

    /// <summary>
    /// Shapes handed to Plotly.NET as Newtonsoft JSON, which its serialiser writes as is: hundreds of shapes as
    /// dynamic objects took a minute to serialise (measured: 768 shapes, 64 s).
    /// </summary>
    internal static Newtonsoft.Json.Linq.JArray ToObjects(JsonArray array) => Newtonsoft.Json.Linq.JArray.Parse(array.ToJsonString());
}
