using Ckpt.Conversion;
using Ckpt.Errors;
using Ckpt.Inspection;
using Ckpt.Monitoring;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;

namespace Ckpt.Extension.Visualisation;

/// <summary>
/// The charting magics. Each handler resolves its checkpoint(s), makes one Kernel call (layout, diff,
/// statistics, timeline), renders through Ckpt.Charts in its own load context, and displays.
/// </summary>
public static class VisualisationDirectives
{
    static OperationTimeline? _last;

    public static void Register(Kernel kernel)
    {
        kernel.AddMagic<ShowLayout>(new KernelActionDirective("#!ckpt-layout",
            "Charts how a checkpoint's tensors are split into fragments over ranks and files, and its parameters by module.")
        {
            Parameters =
            {
                new KernelDirectiveParameter("--checkpoint", "A C# variable holding a Checkpoint, or a checkpoint file or folder.") { AllowImplicitName = true, MaxOccurrences = int.MaxValue, TypeHint = "file" },
                new KernelDirectiveParameter("--tensor", "Only tensors matching this glob, e.g. model.layers.0.**"),
            },
        }, HandleLayout);

        kernel.AddMagic<DiffCheckpoints>(new KernelActionDirective("#!ckpt-diff",
            "Compares two checkpoints: added, removed, reshaped and re-typed tensors, relative L2 and max abs change per tensor and layer.")
        {
            Parameters =
            {
                new KernelDirectiveParameter("--checkpoints", "The base checkpoint, then the one compared with it (variables or paths).") { AllowImplicitName = true, MaxOccurrences = int.MaxValue },
                new KernelDirectiveParameter("--tensor", "Only tensors matching this glob."),
            },
        }, HandleDiff);

        kernel.AddMagic<ShowTensorStatistics>(new KernelActionDirective("#!ckpt-stats",
            "Min, max, mean, std, NaN/Inf counts, zero fraction and a histogram of one tensor, reading only that tensor.")
        {
            Parameters =
            {
                new KernelDirectiveParameter("--checkpoint", "A C# variable holding a Checkpoint (or a checkpoint path), then the tensor's full name.") { AllowImplicitName = true, MaxOccurrences = int.MaxValue },
                new KernelDirectiveParameter("--bins", "Histogram bins (default 64)."),
            },
        }, HandleStatistics);

        kernel.AddMagic<ShowTimeline>(new KernelActionDirective("#!ckpt-timeline",
            "Charts the last checkpoint operation (open, read, diff, stats) or a training save as a timeline per worker thread.")
        {
            Parameters = { new KernelDirectiveParameter("--checkpoint", "A C# variable holding a Checkpoint (its last operation), an AsyncCheckpointer (its last save), a SaveRecord, a PendingSave or an OperationTimeline.") { AllowImplicitName = true, MaxOccurrences = int.MaxValue } },
        }, HandleTimeline);

        kernel.AddMagic<ShowRecovery>(new KernelActionDirective("#!ckpt-recovery",
            "Charts a CheckFree experiment: loss per step with no failure, after CheckFree recovery and after re-initialising the lost stage.")
        {
            Parameters = { new KernelDirectiveParameter("--result", "A C# variable holding a CheckFreeExperimentResult.") { AllowImplicitName = true, MaxOccurrences = int.MaxValue } },
        }, HandleRecovery);
    }

    static Task HandleRecovery(ShowRecovery command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-recovery", async () =>
    {
        var name = DirectivePositionals.Single(command, "#!ckpt-recovery", command.Result, "result variable", "#!ckpt-recovery <var>");
        if (await CheckpointTarget.ValueAsync(name, context) is not Ckpt.Resilience.CheckFreeExperimentResult result)
            throw new ArgumentException($"'{name}' is not a C# variable holding a CheckFreeExperimentResult (run CheckFreeExperiment.Run first)");
        ChartOutput.Publish(context, ChartRendering.Render("recovery", result.ToChartJson()));
    });

    static Task HandleLayout(ShowLayout command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-layout", async () =>
    {
        var target = DirectivePositionals.Single(command, "#!ckpt-layout", command.Checkpoint, "checkpoint", "#!ckpt-layout <var|path> [--tensor glob]", "--tensor");
        var (ckpt, opened) = await CheckpointTarget.ResolveAsync(target, context, set: true);
        try
        {
            var filter = Filter(command.Tensor);
            var layout = ShardLayout.Of(ckpt.Manifest, filter);
            if (layout.TensorCount == 0) throw new ArgumentException($"no tensor of {ckpt.Path} matches '{command.Tensor}'");
            ChartOutput.Publish(context, ChartRendering.Render("layout", InspectionJson.Layout(ckpt.Path, layout, ModuleTree.Of(ckpt.Manifest, filter))));
        }
        finally { if (opened) ckpt.Dispose(); }
    });

    static Task HandleDiff(DiffCheckpoints command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-diff", async () =>
    {
        var checkpoints = DirectivePositionals.Of(command, "#!ckpt-diff", "--tensor");
        if (checkpoints.Count != 2)
            throw new ArgumentException($"#!ckpt-diff needs two checkpoints and was given {DirectivePositionals.Count(checkpoints.Count)}: #!ckpt-diff <a> <b> [--tensor glob]");
        var (a, openedA) = await CheckpointTarget.ResolveAsync(checkpoints[0], context, set: true);
        try
        {
            var (b, openedB) = await CheckpointTarget.ResolveAsync(checkpoints[1], context, set: true);
            try
            {
                var report = await Task.Run(() => CheckpointDiff.Compare(a, b, Filter(command.Tensor), cancellationToken: context.CancellationToken));
                _last = a.LastTimeline;
                ChartOutput.Publish(context, ChartRendering.Render("diff", InspectionJson.Diff(report)));
            }
            finally { if (openedB) b.Dispose(); }
        }
        finally { if (openedA) a.Dispose(); }
    });

    static Task HandleStatistics(ShowTensorStatistics command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-stats", async () =>
    {
        var args = DirectivePositionals.Of(command, "#!ckpt-stats", "--bins");
        if (args.Count != 2)
            throw new ArgumentException($"#!ckpt-stats needs a checkpoint and a tensor name and was given {DirectivePositionals.Count(args.Count)}: #!ckpt-stats <var|path> <tensor> [--bins n]");
        var (ckpt, opened) = await CheckpointTarget.ResolveAsync(args[0], context);
        try
        {
            var tensor = args[1];
            var stats = await Task.Run(() => TensorStatistics.Of(ckpt, tensor, command.Bins ?? 64, context.CancellationToken));
            _last = ckpt.LastTimeline;
            ChartOutput.Publish(context, ChartRendering.Render("stats", InspectionJson.Statistics(stats)));
        }
        finally { if (opened) ckpt.Dispose(); }
    });

    static Task HandleTimeline(ShowTimeline command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-timeline", async () =>
    {
        OperationTimeline? timeline = _last;
        if (DirectivePositionals.AtMostOne(command, "#!ckpt-timeline", command.Checkpoint, "checkpoint", "#!ckpt-timeline [var]") is { } named)
        {
            switch (await CheckpointTarget.ValueAsync(named, context))
            {
                case OperationTimeline t: timeline = t; break;
                case Ckpt.Resilience.SaveRecord save: timeline = save.Timeline; break;
                case Ckpt.Resilience.PendingSave save: timeline = save.Timeline; break;
                case Ckpt.Resilience.AsyncCheckpointer checkpointer:
                    timeline = checkpointer.History.LastOrDefault()?.Timeline
                        ?? throw new ArgumentException($"{named} has not saved anything yet");
                    break;
                default:
                    var (ckpt, opened) = await CheckpointTarget.ResolveAsync(named, context);
                    timeline = ckpt.LastTimeline;
                    if (opened) ckpt.Dispose();
                    break;
            }
        }
        if (timeline is null)
            throw new ArgumentException("no checkpoint operation has run yet: run #!ckpt-stats or #!ckpt-diff, or name a checkpoint variable");
        ChartOutput.Publish(context, ChartRendering.Render("timeline", InspectionJson.Timeline(timeline)));
    });

    static TensorFilter Filter(string? glob) => string.IsNullOrWhiteSpace(glob) ? TensorFilter.All : new TensorFilter([glob]);

    /// <summary>A failure fails the cell with its one sentence, as the CLI says it; no stack trace.</summary>
    static async Task Guarded(KernelCommand command, KernelInvocationContext context, string magic, Func<Task> body)
    {
        try { await body(); }
        catch (Exception e) { MagicFailure.Fail(context, command, e, magic); }
    }
}
