using Ckpt.Training;

namespace Ckpt.Extension.Training;

/// <summary>
/// Handles <see cref="FineTuningModel"/>: checks the options (one sentence for bad input, before any model is read), runs
/// <see cref="FineTuning.Run"/> on a worker thread with the cell's cancellation token while a <see cref="LiveLossChart"/>
/// follows it, then shows the summary; <see cref="VerbMagic"/> binds the result when `--name` is given. Stopping the
/// cell ends the run after its current step, which writes that step's adapter; the summary says where.
/// </summary>
static class FineTuningHandler
{
    /// <summary>What a cell stopped before the run's first step says.</summary>
    public const string Stopped = "stopped before the first step; nothing was written";

    public static async Task<object?> HandleAsync(VerbMagicCall call)
    {
        var options = call.Bind(FineTuningVerb.Bind);
        options = options with { Model = await CheckpointTarget.PathAsync(options.Model, call.Context) };
        options.Validate();
        Ckpt.Models.TorchNativeLibraries.Require("fine-tuning", "ckpt finetune");

        var token = call.CancellationToken;
        var chart = new LiveLossChart(call.Context, options.Recipe, options.Steps ?? 0);
        chart.Show();
        // Not Task.Run(..., token): a run stopped before it starts still returns its (empty) result and says so.
        var run = Task.Run(() => FineTuning.Run(options, chart, token));
        FineTuningResult result;
        // .NET Interactive ends a stopped cell at once, before the run has written its adapter; say here what will happen.
        using (token.Register(() => chart.Stopping(options.Output))) result = await chart.ResultOfAsync(run);
        chart.Finish(result.Cancelled ? "stopped" : "done");
        call.Show(FineTuningHtml.Summary(result));
        return result;
    }
}
