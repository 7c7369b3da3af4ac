namespace Ckpt.Extension.Visualisation;

/// <summary>
/// The notebook's door to Ckpt.Charts: <c>ChartRenderer.Render(kind, json)</c> and <c>PlotlyJs()</c>, called
/// through delegates over strings into <see cref="ChartsLoadContext"/>, so no F# or Plotly.NET type ever
/// reaches the host's load context.
/// </summary>
static class ChartRendering
{
    static readonly Lazy<(Func<string, string, string> Render, Func<string> PlotlyJs, ChartsLoadContext Context)> Loaded = new(Load);

    /// <summary>The folder that holds Ckpt.Charts and its dependencies: <c>charts/</c> beside this assembly.</summary>
    public static string Folder => Path.Combine(Path.GetDirectoryName(typeof(ChartRendering).Assembly.Location)!, "charts");

    public static RenderedCharts Render(string kind, JsonObject input)
    {
        var json = JsonNode.Parse(Loaded.Value.Render(kind, input.ToJsonString()))!.AsObject();
        var charts = json["charts"]!.AsArray().Select(c => new RenderedChart(
            c!["name"]!.GetValue<string>(), c["title"]!.GetValue<string>(), c["figure"]!.AsObject(), c["html"]!.GetValue<string>())).ToList();
        return new RenderedCharts(json["summaryHtml"]!.GetValue<string>(), charts);
    }

    public static string PlotlyJs() => PlotlyScript.Value;

    static readonly Lazy<string> PlotlyScript = new(() => Loaded.Value.PlotlyJs());

    /// <summary>The load context Ckpt.Charts lives in (for tests that check the isolation).</summary>
    internal static System.Runtime.Loader.AssemblyLoadContext Context => Loaded.Value.Context;

    static (Func<string, string, string>, Func<string>, ChartsLoadContext) Load()
    {
        var folder = Folder;
        var dll = Path.Combine(folder, "Ckpt.Charts.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"the chart renderer is missing: {dll} (the Ckpt.Extension package ships it in interactive-extensions/dotnet/charts)", dll);
        var context = new ChartsLoadContext(folder);
        var renderer = context.LoadFromAssemblyPath(dll).GetType("Ckpt.Charts.ChartRenderer", throwOnError: true)!;
        var render = renderer.GetMethod("Render", [typeof(string), typeof(string)])!.CreateDelegate<Func<string, string, string>>();
        var plotly = renderer.GetMethod("PlotlyJs", Type.EmptyTypes)!.CreateDelegate<Func<string>>();
        return (render, plotly, context);
    }
}

sealed record RenderedCharts(string SummaryHtml, IReadOnlyList<RenderedChart> Charts);

sealed record RenderedChart(string Name, string Title, JsonObject Figure, string Html);
