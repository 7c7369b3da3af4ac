using Ckpt.Conversion;
using Ckpt.Errors;
using Ckpt.Inspection;
using Ckpt.Monitoring;
using Ckpt.Extension.Directives;
using Ckpt.Verbs;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;

namespace Ckpt.Extension.Visualisation;

/// <summary>
/// The charting magics, each declared once in Kernel (<see cref="LayoutVerb"/>, <see cref="DiffVerb"/>, <see cref="StatsVerb"/>,
/// <see cref="TimelineVerb"/>, <see cref="Ckpt.Resilience.RecoveryVerb"/>). Each handler resolves its checkpoint(s), makes one Kernel call,
/// renders through Ckpt.Charts in its own load context, and displays.
/// </summary>
public static class VisualisationDirectives
{
    static OperationTimeline? _last;

    public static void Register(Kernel kernel)
    {
        kernel.AddMagic<ShowLayout>(VerbDirective.Create(LayoutVerb.Definition,
            "Charts how a checkpoint's tensors are split into fragments over ranks and files, and its parameters by module."), HandleLayout);
        kernel.AddMagic<DiffCheckpoints>(VerbDirective.Create(DiffVerb.Definition,
            "Compares two checkpoints: added, removed, reshaped and re-typed tensors, relative L2 and max abs change per tensor and layer."), HandleDiff);
        kernel.AddMagic<ShowTensorStatistics>(VerbDirective.Create(StatsVerb.Definition, StatsVerb.Definition.Summary), HandleStatistics);
        kernel.AddMagic<ShowTimeline>(VerbDirective.Create(TimelineVerb.Definition, TimelineVerb.Definition.Summary), HandleTimeline);
        kernel.AddMagic<ShowRecovery>(VerbDirective.Create(Ckpt.Resilience.RecoveryVerb.Definition, Ckpt.Resilience.RecoveryVerb.Definition.Summary), HandleRecovery);
    }

    /// <summary>The magic's values from its line, its positional count checked (the magic's own sentence when wrong).</summary>
    static Dictionary<string, IReadOnlyList<string>> Values(Verb verb, KernelCommand command)
    {
        var values = VerbDirective.Values(verb, command);
        VerbDirective.Positional(verb, values);
        return values;
    }

    static Task HandleRecovery(ShowRecovery command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-recovery", async () =>
    {
        var name = Values(Ckpt.Resilience.RecoveryVerb.Definition, command)["--result"][0];
        if (await CheckpointTarget.ValueAsync(name, context) is not Ckpt.Resilience.IRecoveryChart result)
            throw new ArgumentException($"'{name}' is not a C# variable holding a recovery comparison (IRecoveryChart; run samples/CheckFree's CheckFreeExperiment.Run first)");
        ChartOutput.Publish(context, ChartRendering.Render("recovery", result.ToChartJson()));
    });

    static Task HandleLayout(ShowLayout command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-layout", async () =>
    {
        var request = LayoutVerb.Bind(Values(LayoutVerb.Definition, command));
        var (ckpt, opened) = await CheckpointTarget.ResolveAsync(request.Checkpoint, context, set: true);
        try
        {
            var filter = request.Filter;
            var layout = CheckpointLayout.Of(ckpt.Manifest, filter);
            if (layout.TensorCount == 0) throw new ArgumentException($"no tensor of {ckpt.Path} matches '{string.Join("', '", request.Tensors)}'");
            ChartOutput.Publish(context, ChartRendering.Render("layout", InspectionJson.Layout(ckpt.Path, layout, ModuleTree.Of(ckpt.Manifest, filter))));
        }
        finally { if (opened) ckpt.Dispose(); }
    });

    static Task HandleDiff(DiffCheckpoints command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-diff", async () =>
    {
        var request = DiffVerb.Bind(Values(DiffVerb.Definition, command));
        var (a, openedA) = await CheckpointTarget.ResolveAsync(request.Base, context, set: true);
        try
        {
            var (b, openedB) = await CheckpointTarget.ResolveAsync(request.Compared, context, set: true);
            try
            {
                var report = await Task.Run(() => CheckpointDiff.Compare(a, b, request.Filter, cancellationToken: context.CancellationToken));
                _last = a.LastTimeline;
                ChartOutput.Publish(context, ChartRendering.Render("diff", InspectionJson.Diff(report)));
            }
            finally { if (openedB) b.Dispose(); }
        }
        finally { if (openedA) a.Dispose(); }
    });

    static Task HandleStatistics(ShowTensorStatistics command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-stats", async () =>
    {
        var (target, tensor, bins) = StatsVerb.Bind(Values(StatsVerb.Definition, command));
        var (ckpt, opened) = await CheckpointTarget.ResolveAsync(target, context);
        try
        {
            var stats = await Task.Run(() => TensorStatistics.Of(ckpt, tensor, bins, context.CancellationToken));
            _last = ckpt.LastTimeline;
            ChartOutput.Publish(context, ChartRendering.Render("stats", InspectionJson.Statistics(stats)));
        }
        finally { if (opened) ckpt.Dispose(); }
    });

    static Task HandleTimeline(ShowTimeline command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-timeline", async () =>
    {
        OperationTimeline? timeline = _last;
        if (Values(TimelineVerb.Definition, command).GetValueOrDefault("--checkpoint")?.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v)) is { } named)
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

    /// <summary>A failure fails the cell with its one sentence, as the CLI says it; no stack trace.</summary>
    static async Task Guarded(KernelCommand command, KernelInvocationContext context, string magic, Func<Task> body)
    {
        try { await body(); }
        catch (Exception e) { MagicFailure.Fail(context, command, e, magic); }
    }
}
