using DynamicObj;
using Plotly.NET;

namespace Ckpt.Charts;

/// <summary>
/// A Plotly.NET chart assembled from trace and layout property bags: Plotly.NET's typed constructors take
/// dozens of F# option parameters, so C# fills its dynamic objects by plotly.js attribute name instead.
/// </summary>
sealed class PlotlyFigure
{
    readonly List<Trace> _traces = [];
    readonly Layout _layout = new();

    public PlotlyFigure(string title, int height = 480)
    {
        _layout.SetProperty("title", Obj(("text", title)));
        _layout.SetProperty("height", height);
        _layout.SetProperty("margin", Obj(("l", 80), ("r", 30), ("t", 60), ("b", 60)));
        _layout.SetProperty("template", "plotly_white");
    }

    public PlotlyFigure Trace(string type, params (string Key, object? Value)[] properties)
    {
        Trace t = type is "treemap" or "sunburst" or "table" ? new TraceDomain(type) : new Trace2D(type);
        foreach (var (k, v) in properties) if (v is not null) t.SetProperty(k, v);
        _traces.Add(t);
        return this;
    }

    public PlotlyFigure Layout(string key, object value)
    {
        _layout.SetProperty(key, value);
        return this;
    }

    public static DynamicObj.DynamicObj Obj(params (string Key, object? Value)[] properties)
    {
        var o = new DynamicObj.DynamicObj();
        foreach (var (k, v) in properties) if (v is not null) o.SetProperty(k, v);
        return o;
    }

    public Chart ToChart(string name, string title)
    {
        var chart = GenericChart.setLayout(_layout, GenericChart.ofTraceObjects(false, _traces));
        var config = new Config();
        config.SetProperty("responsive", true);
        config.SetProperty("displaylogo", false);
        chart = GenericChart.setConfig(config, chart);
        return new Chart(name, title, JsonNode.Parse(GenericChart.toFigureJson(chart))!.AsObject(), GenericChart.toChartHTML(chart));
    }
}

/// <summary>One rendered chart: plotly figure JSON (data, layout) and an HTML div with the script that draws it.</summary>
sealed record Chart(string Name, string Title, JsonObject Figure, string Html)
{
    public JsonObject ToJson() => new() { ["name"] = Name, ["title"] = Title, ["figure"] = Figure.DeepClone(), ["html"] = Html };
}
