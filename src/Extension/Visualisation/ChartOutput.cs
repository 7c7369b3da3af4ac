using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Ckpt.Extension.Visualisation;

/// <summary>
/// Publishes rendered charts: a summary, then one output per chart carrying both
/// <c>application/vnd.plotly.v1+json</c> (rendered natively by JupyterLab, VS Code, nteract) and a
/// <c>text/html</c> fallback (the classic notebook, nbconvert's HTML). plotly.js is inlined, never fetched, and goes
/// into a notebook once: the first chart output of each kernel session carries it (gzipped, about 1.4 MB instead of
/// 3.6 MB), and so does a re-run of that same cell, whose new output replaces the one that held it. Every chart's
/// script waits for <c>window.Plotly</c>, so charts above the carrier (a reordered notebook, an nbconvert page
/// whose outputs are static) draw once it has run.
/// </summary>
static partial class ChartOutput
{
    public const string PlotlyMimeType = "application/vnd.plotly.v1+json";

    /// <summary>The code of the cell whose output carries plotly.js in each kernel session.</summary>
    sealed class Carrier { public string? Code; }

    static readonly ConditionalWeakTable<Kernel, Carrier> Carriers = new();

    public static void Publish(KernelInvocationContext context, RenderedCharts rendered)
    {
        if (rendered.SummaryHtml.Length > 0) context.DisplayAs(rendered.SummaryHtml, HtmlFormatter.MimeType);
        bool first = true;
        foreach (var chart in rendered.Charts)
        {
            var html = (first && CarriesPlotly(context) ? PlotlyLoader() : "") + WhenPlotly(chart.Html);
            first = false;
            context.Publish(new DisplayedValueProduced(chart.Title, context.Command,
            [
                new FormattedValue(PlotlyMimeType, chart.Figure.ToJsonString()),
                new FormattedValue(HtmlFormatter.MimeType, html),
            ]));
        }
    }

    static bool CarriesPlotly(KernelInvocationContext context)
    {
        var carrier = Carriers.GetValue(context.HandlingKernel?.RootKernel ?? Kernel.Root ?? throw new InvalidOperationException("no kernel"), _ => new Carrier());
        var code = CellCode(context.Command);
        lock (carrier)
        {
            if (carrier.Code is not null && carrier.Code != code) return false;
            carrier.Code = code;
            return true;
        }
    }

    // A magic runs as a command split from the cell's SubmitCode: the cell is the outermost SubmitCode.
    static string CellCode(KernelCommand command)
    {
        string code = "";
        for (var c = command; c is not null; c = c.Parent)
            if (c is SubmitCode submit) code = submit.Code;
        return code;
    }

    /// <summary>
    /// The chart's own script, made to draw once <c>window.Plotly</c> exists. Plotly.NET ends it with a call of its
    /// <c>renderPlotly_&lt;id&gt;</c> function; that call is queued instead when plotly.js has not run yet.
    /// </summary>
    internal static string WhenPlotly(string chartHtml)
    {
        var calls = DrawCall().Matches(chartHtml);
        if (calls.Count == 0) return chartHtml;
        var call = calls[^1];
        var draw = call.Groups["draw"].Value;
        return string.Concat(chartHtml.AsSpan(0, call.Index),
            $"if (window.Plotly) {draw}(); else (window.ckptPlotlyWaiting = window.ckptPlotlyWaiting || []).push({draw});",
            chartHtml.AsSpan(call.Index + call.Length));
    }

    [GeneratedRegex(@"(?<draw>renderPlotly_[A-Za-z0-9_]+)\(\);")]
    private static partial Regex DrawCall();

    /// <summary>
    /// plotly.js, run once per page and drawing the charts that wait for it. It travels gzipped in base64 and is
    /// unpacked by the browser's DecompressionStream (Chromium 80, Firefox 113, Safari 16.4; VS Code's webviews).
    /// RequireJS (classic Jupyter) would capture its UMD header as an anonymous module and leave
    /// <c>window.Plotly</c> unset, so <c>define</c> is hidden while it runs.
    /// </summary>
    internal static string PlotlyLoader() =>
        "<script type=\"text/javascript\">(function () {\n" +
        "if (window.Plotly || window.ckptPlotlyLoading) return;\n" +
        "window.ckptPlotlyLoading = true;\n" +
        "var packed = \"" + PlotlyGzipBase64.Value + "\";\n" +
        "var bytes = Uint8Array.from(atob(packed), function (c) { return c.charCodeAt(0); });\n" +
        "new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream(\"gzip\"))).text().then(function (js) {\n" +
        "  var script = document.createElement(\"script\");\n" +
        "  script.text = \"(function () { var define = undefined; var exports = undefined; var module = undefined;\\n\" + js + \"\\n}).call(window);\";\n" +
        "  document.head.appendChild(script);\n" +
        "  var waiting = window.ckptPlotlyWaiting || [];\n" +
        "  window.ckptPlotlyWaiting = [];\n" +
        "  waiting.forEach(function (draw) { draw(); });\n" +
        "});\n" +
        "})();</script>";

    static readonly Lazy<string> PlotlyGzipBase64 = new(() =>
    {
        using var packed = new MemoryStream();
        using (var gzip = new GZipStream(packed, CompressionLevel.SmallestSize))
            gzip.Write(Encoding.UTF8.GetBytes(ChartRendering.PlotlyJs()));
        return Convert.ToBase64String(packed.ToArray());
    });
}
