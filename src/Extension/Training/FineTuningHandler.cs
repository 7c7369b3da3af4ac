using Ckpt.Errors;
using Ckpt.Extension.Directives;
using Ckpt.Extension.Visualisation;
using Ckpt.Training;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace Ckpt.Extension.Training;

/// <summary>
/// Handles <see cref="FineTuneModel"/>: checks the options (one sentence for bad input, before any model is read), runs
/// <see cref="FineTuning.Run"/> on a worker thread with the cell's cancellation token while a <see cref="LiveLossChart"/>
/// follows it, then shows the summary and binds the result when `--name` is given. Stopping the cell ends the run
/// after its current step, which writes that step's adapter; the summary says where.
/// </summary>
static class FineTuneHandler
{
    public static async Task HandleAsync(FineTuneModel command, KernelInvocationContext context)
    {
        var values = VerbDirective.Values(FineTuningVerb.Definition, command);
        var variable = VerbDirective.Text(values, "--name");
        if (variable is { } name && !VariableName.IsValid(name))
        {
            context.Fail(command, message: $"'{name}' is not a valid C# variable name for --name.");
            return;
        }
        FineTuningOptions options;
        try
        {
            var request = FineTuningVerb.Bind(values);
            options = (request with { Model = await CheckpointTarget.PathAsync(request.Model, context) }).ToOptions();
            options.Validate();
            Ckpt.Models.TorchNativeLibraries.Require("fine-tuning", "ckpt finetune");
        }
        catch (Exception e)
        {
            MagicFailure.Fail(context, command, e, "#!ckpt-finetune");
            return;
        }

        var token = context.CancellationToken;
        var chart = new LiveLossChart(context, options.Recipe, options.Steps ?? 0);
        chart.Show();
        // Not Task.Run(..., token): a run stopped before it starts still returns its (empty) result and says so.
        var run = Task.Run(() => FineTuning.Run(options, chart, token));
        // .NET Interactive ends a stopped cell at once, before the run has written its adapter; say here what will happen.
        var stopping = token.Register(() => chart.Stopping(options.Output));
        await chart.FollowAsync(run);
        stopping.Dispose();
        FineTuningResult result;
        try { result = await run; }
        catch (OperationCanceledException)
        {
            chart.Finish("stopped");
            context.Fail(command, message: "stopped before the first step; nothing was written");
            return;
        }
        catch (Exception e)
        {
            chart.Finish("failed");
            MagicFailure.Fail(context, command, e, "#!ckpt-finetune");
            return;
        }
        chart.Finish(result.Cancelled ? "stopped" : "done");
        context.DisplayAs(FineTuningHtml.Summary(result), HtmlFormatter.MimeType);
        await CSharpVariable.BindForMagicAsync(command, context, variable, result);
    }
}
