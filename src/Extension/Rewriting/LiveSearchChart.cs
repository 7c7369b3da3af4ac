using Ckpt.Merging;

namespace Ckpt.Extension.Rewriting;

/// <summary>The live chart of a running LCSC search: best metric per evaluation and the best coefficients.</summary>
sealed class LiveSearchChart(KernelInvocationContext context, IReadOnlyList<string> checkpoints, int budget, string metric)
    : LiveChart<LcscGeneration>(context, "lcsc")
{
    /// <summary>At most one redraw per interval (ML.NET's notebook monitor waits 5 s; a search generation is usually faster).</summary>
    internal static TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    double? _start;

    protected override TimeSpan RedrawInterval => Interval;

    /// <summary>The uniform starting point's metric, drawn as the first point once known.</summary>
    public void Started(double metric)
    {
        lock (Items) _start = metric;
    }

    public void Show() => Show("loading checkpoints");

    protected override JsonObject Input(string state) => new()
    {
        ["metric"] = metric,
        ["budget"] = budget,
        ["state"] = state,
        ["start"] = _start,
        ["checkpoints"] = new JsonArray(checkpoints.Select(c => (JsonNode)ShortName(c)).ToArray()),
        ["generations"] = new JsonArray(Items.Select(g => (JsonNode)new JsonObject
        {
            ["index"] = g.Index,
            ["evaluations"] = g.Evaluations,
            ["best"] = g.BestMetric,
            ["generationBest"] = double.IsFinite(g.GenerationBest) ? g.GenerationBest : null,
            ["coefficients"] = new JsonArray(g.BestCoefficients.Select(c => (JsonNode)c).ToArray()),
        }).ToArray()),
    };

    static string ShortName(string path)
    {
        var name = Path.GetFileName(path.TrimEnd('/', '\\'));
        foreach (var ext in new[] { ".safetensors", ".pt", ".pth", ".bin" })
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) return name[..^ext.Length];
        return name;
    }
}
