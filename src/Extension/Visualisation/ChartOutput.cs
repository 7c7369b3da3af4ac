using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace Ckpt.Extension.Visualisation;

/// <summary>
/// Publishes rendered charts: a summary, then one output per chart carrying both
/// <c>application/vnd.plotly.v1+json</c> (rendered natively by JupyterLab, VS Code, nteract) and a
/// <c>text/html</c> fallback. plotly.js is inlined, never fetched: the first chart of a cell carries it.
/// </summary>
static class ChartOutput
{
    public const string PlotlyMimeType = "application/vnd.plotly.v1+json";

    public static void Publish(KernelInvocationContext context, RenderedCharts rendered)
    {
        if (rendered.SummaryHtml.Length > 0) context.DisplayAs(rendered.SummaryHtml, HtmlFormatter.MimeType);
        bool first = true;
        foreach (var chart in rendered.Charts)
        {
            var html = (first ? PlotlyLoader() : "") + chart.Html;
            first = false;
            context.Publish(new DisplayedValueProduced(chart.Title, context.Command,
            [
                new FormattedValue(PlotlyMimeType, chart.Figure.ToJsonString()),
                new FormattedValue(HtmlFormatter.MimeType, html),
            ]));
        }
    }

    /// <summary>
    /// plotly.js, run once per page. RequireJS (classic Jupyter) would capture its UMD header as an anonymous
    /// module and leave <c>window.Plotly</c> unset, so <c>define</c> is hidden while it runs.
    /// </summary>
    internal static string PlotlyLoader() =>
        "<script type=\"text/javascript\">if (!window.Plotly) { (function () { var define = undefined; var exports = undefined; var module = undefined;\n" +
        ChartRendering.PlotlyJs() + "\n}).call(window); }</script>";
}
