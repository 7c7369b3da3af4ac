using System.Globalization;
using Ckpt.Conversion;
using Ckpt.Extension.Visualisation;
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
    const string Usage = "#!ckpt-lcsc <folder|glob|a,b,c|a b c> --eval " + CombinationMetrics.Syntax;

    /// <summary>One value as written (folder, glob or comma list), or several values as a comma list: the binder fills
    /// <see cref="SearchCombination.Checkpoints"/> only when it is given once.</summary>
    static string Checkpoints(SearchCombination command)
    {
        if (!string.IsNullOrWhiteSpace(command.Checkpoints)) return command.Checkpoints;
        var given = DirectivePositionals.Of(command, "#!ckpt-lcsc", "--eval", "--budget", "--seed", "--last", "--out", "--dtype", "--name")
            .Where(v => !string.IsNullOrWhiteSpace(v)).ToList();
        return given.Count > 0 ? string.Join(",", given) : throw new FormatException($"#!ckpt-lcsc needs checkpoints and was given no value: {Usage}");
    }

    public static Task HandleAsync(SearchCombination command, KernelInvocationContext context) =>
        RewritingDirectives.Guarded(command, context, "#!ckpt-lcsc", command.Name, async () =>
        {
            var given = Checkpoints(command);
            if (string.IsNullOrWhiteSpace(command.Eval)) throw new FormatException("#!ckpt-lcsc needs --eval " + CombinationMetrics.Syntax);
            var token = context.CancellationToken;
            var checkpoints = await Task.Run(() => CheckpointSet.Resolve(given, command.Last, token), token);
            var request = new CombinationSearchRequest
            {
                Checkpoints = string.Join(",", checkpoints),
                Eval = command.Eval,
                Budget = command.Budget ?? 200,
                Seed = command.Seed ?? 0,
                OutputDirectory = command.Out,
                OutputDType = OptionValues.DType(command.DType),
                Overwrite = command.Overwrite,
            };
            var chart = new LiveSearchChart(context, checkpoints, request.Budget, command.Eval.Split(':')[0]);
            chart.Show();
            var search = Task.Run(() => CombinationSearch.Run(request, chart, token), token);
            await chart.FollowAsync(search);
            try
            {
                var result = await search;
                if (result.Search.History.Count > 0) chart.Started(result.Search.History[0].Metric);
                chart.Finish("done");
                context.DisplayAs(RewriteHtml.Search(result, command.Out), HtmlFormatter.MimeType);
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
