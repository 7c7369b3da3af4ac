using System.Globalization;
using Ckpt.Extension.Directives;
using Ckpt.Errors;
using Ckpt.Merging;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// Handles <see cref="SearchCombination"/>: resolves the checkpoints, runs <see cref="CombinationSearch"/> on a worker
/// thread with the cell's cancellation token while a <see cref="LiveSearchChart"/> follows it, then shows the
/// coefficients table and binds the result. Stopping the cell leaves the chart at the last generation and says so.
/// </summary>
static class SearchCombinationHandler
{
    public static Task HandleAsync(SearchCombination command, KernelInvocationContext context)
    {
        var values = VerbDirective.Values(LcscVerb.Definition, command);
        var output = VerbDirective.Text(values, "--out");
        return RewritingDirectives.Guarded(command, context, "#!ckpt-lcsc", VerbDirective.Text(values, "--name"), async () =>
        {
            VerbDirective.Positional(LcscVerb.Definition, values);
            var bound = LcscVerb.Bind(values);
            var token = context.CancellationToken;
            // Resolved here, not in the search, so the chart can name the checkpoints before the first generation.
            var checkpoints = await Task.Run(() => CheckpointSet.Resolve(bound.Checkpoints, bound.Last, token), token);
            var request = bound with { Checkpoints = string.Join(",", checkpoints), Last = null };
            var chart = new LiveSearchChart(context, checkpoints, request.Budget, request.Eval.Split(':')[0]);
            chart.Show();
            var search = Task.Run(() => CombinationSearch.Run(request, chart, token), token);
            await chart.FollowAsync(search);
            try
            {
                var result = await search;
                if (result.Search.History.Count > 0) chart.Started(result.Search.History[0].Metric);
                chart.Finish("done");
                context.DisplayAs(RewriteHtml.Search(result, output), HtmlFormatter.MimeType);
                return result;
            }
            catch (OperationCanceledException)
            {
                chart.Finish("stopped");
                throw;
            }
            catch
            {
                chart.Finish("failed");
                throw;
            }
        });
    }
}
