using System.Reflection;

namespace Ckpt.Charts;

/// <summary>
/// The whole surface of Ckpt.Charts: JSON in (the Kernel's <c>InspectionJson</c> contract), JSON or HTML out.
/// Only strings cross this boundary, so notebook hosts can load this assembly, Plotly.NET and the FSharp.Core
/// it needs into their own AssemblyLoadContext, whatever FSharp.Core the host already loaded.
/// </summary>
public static class ChartRenderer
{
    /// <summary>Kinds: <c>layout</c>, <c>diff</c>, <c>stats</c>, <c>timeline</c>, <c>lcsc</c>, <c>recovery</c>, <c>restor</c>.</summary>
    public static string Render(string kind, string inputJson)
    {
        var (charts, summary) = Build(kind, inputJson);
        return new JsonObject
        {
            ["kind"] = kind,
            ["summaryHtml"] = summary,
            ["charts"] = new JsonArray(charts.Select(c => (JsonNode)c.ToJson()).ToArray()),
        }.ToJsonString();
    }

    /// <summary>A standalone HTML page, plotly.js inlined from Plotly.NET's embedded copy: opens with no network.</summary>
    public static string Document(string kind, string inputJson, string title)
    {
        var (charts, summary) = Build(kind, inputJson);
        var body = string.Concat(charts.Select(c => $"<section>{c.Html}</section>\n"));
        return $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>{{Html.Escape(title)}}</title>
            <style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}section{margin:12px 0}</style>
            <script type="text/javascript">{{PlotlyJs()}}</script>
            </head>
            <body>
            <h1>{{Html.Escape(title)}}</h1>
            {{summary}}
            {{body}}
            </body>
            </html>
            """;
    }

    /// <summary>The plotly.js bundle Plotly.NET embeds (plotly.min.js), for hosts that inline it once per output.</summary>
    public static string PlotlyJs()
    {
        var assembly = typeof(Plotly.NET.GenericChart).Assembly;
        var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith(".min.js", StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(name)!;
        return new StreamReader(stream).ReadToEnd();
    }

    /// <summary>The plotly.js version that <see cref="PlotlyJs"/> returns.</summary>
    public static string PlotlyJsVersion() =>
        typeof(Plotly.NET.GenericChart).Assembly.GetManifestResourceNames()
            .Single(n => n.EndsWith(".min.js", StringComparison.Ordinal)).Split('-').Last().Replace(".min.js", "");

    static (IReadOnlyList<Chart> Charts, string SummaryHtml) Build(string kind, string inputJson)
    {
        var input = JsonNode.Parse(inputJson)?.AsObject() ?? throw new ArgumentException("chart input is not a JSON object");
        return kind switch
        {
            "layout" => LayoutCharts.Build(input),
            "diff" => DiffCharts.Build(input),
            "stats" => StatisticsCharts.Build(input),
            "finetune" => TrainingCharts.Build(input),
            "timeline" => TimelineCharts.Build(input),
            "lcsc" => LcscCharts.Build(input),
            "recovery" => RecoveryCharts.Build(input),
            "restor" => RestorCharts.Build(input),
            "smoothinv" => SmoothInvCharts.Build(input),
            _ => throw new ArgumentException($"unknown chart kind '{kind}' (layout, diff, stats, timeline, lcsc, recovery, restor, smoothinv)"),
        };
    }
}
