namespace Ckpt.Charts;

/// <summary>An operation's recorded phases as a Gantt chart: one row per worker thread, one bar per event, coloured by phase.</summary>
static class TimelineCharts
{
    public static (IReadOnlyList<Chart>, string) Build(JsonObject t)
    {
        var events = t["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
        var phases = events.Select(e => e["phase"]!.GetValue<string>()).Distinct().ToList();
        var workers = events.Select(e => e["worker"]!.GetValue<int>()).Distinct().Order().ToList();
        var fig = new PlotlyFigure($"{t["operation"]}: timeline per worker", Math.Max(280, 34 * workers.Count + 160));
        foreach (var (phase, i) in phases.Select((p, i) => (p, i)))
        {
            var mine = events.Where(e => e["phase"]!.GetValue<string>() == phase).ToList();
            fig.Trace("bar", ("orientation", "h"), ("name", phase),
                ("base", mine.Select(e => e["start"]!.GetValue<double>() * 1000).ToArray()),
                ("x", mine.Select(e => Math.Max(0.001, (e["end"]!.GetValue<double>() - e["start"]!.GetValue<double>()) * 1000)).ToArray()),
                ("y", mine.Select(e => $"worker {e["worker"]}").ToArray()),
                ("customdata", mine.Select(e => new object[] { e["subject"]!.GetValue<string>(), Palette.Bytes(e["bytes"]!.GetValue<long>()) }).ToArray()),
                ("hovertemplate", phase + " %{customdata[0]}<br>%{base:.3f} ms +%{x:.3f} ms<br>%{customdata[1]}<extra></extra>"),
                ("marker", Obj(("color", Palette.Of(i)))));
        }
        fig.Layout("barmode", "overlay")
            .Layout("xaxis", Obj(("title", Obj(("text", "milliseconds since the operation started")))))
            .Layout("yaxis", Obj(("type", "category"), ("automargin", true)));
        var total = events.Count == 0 ? 0 : events.Max(e => e["end"]!.GetValue<double>());
        var bytes = events.Sum(e => e["bytes"]!.GetValue<long>());
        var summary = $"<p><b>{Html.Escape(t["operation"]?.GetValue<string>())}</b>: {t["eventCount"]} events on {workers.Count} worker(s), " +
                      $"{total * 1000:0.###} ms, {Palette.Bytes(bytes)}" +
                      (events.Count < t["eventCount"]!.GetValue<int>() ? $" (the {events.Count} longest events drawn)" : "") + ".</p>";
        return ([fig.ToChart("timeline", "Timeline")], summary);
    }
}
