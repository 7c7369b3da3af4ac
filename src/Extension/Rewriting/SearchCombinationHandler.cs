using Ckpt.Merging;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// Handles <see cref="SearchCombination"/>: resolves the checkpoints, runs <see cref="CombinationSearch"/> on a worker
/// thread with the cell's cancellation token while a <see cref="LiveSearchChart"/> follows it, then shows the
/// coefficients table and binds the result. Stopping the cell leaves the chart at the last generation and says so.
/// </summary>
static class SearchCombinationHandler
{
    public static async Task<object?> HandleAsync(VerbMagicCall call)
    {
        var output = call.Text("--out");
        var bound = call.Bind(LcscVerb.Bind);
        var token = call.CancellationToken;
        // Resolved here, not in the search, so the chart can name the checkpoints before the first generation.
        var checkpoints = await call.Run(() => CheckpointSet.Resolve(bound.Checkpoints, bound.Last, token));
        var request = bound with { Checkpoints = string.Join(",", checkpoints), Last = null };
        var chart = new LiveSearchChart(call.Context, checkpoints, request.Budget, request.Eval.Split(':')[0]);
        chart.Show();
        var result = await chart.ResultOfAsync(call.Run(() => CombinationSearch.Run(request, chart, token)));
        if (result.Search.History.Count > 0) chart.Started(result.Search.History[0].Metric);
        chart.Finish("done");
        call.Show(RewriteHtml.Search(result, output));
        return result;
    }
}
