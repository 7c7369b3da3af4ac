using Ckpt.Inspection;
using Ckpt.Monitoring;

namespace Ckpt.Extension.Visualisation;

/// <summary>
/// The charting magics, each declared once in Kernel (<see cref="LayoutVerb"/>, <see cref="DiffVerb"/>, <see cref="StatsVerb"/>,
/// <see cref="TimelineVerb"/>, <see cref="Ckpt.Resilience.RecoveryVerb"/>). Each handler resolves its checkpoint(s), makes one Kernel call,
/// renders through Ckpt.Charts in its own load context, and displays (<see cref="VerbMagic"/>; a failure, a stopped cell included, says the CLI's sentence).
/// </summary>
public static class VisualisationDirectives
{
    static OperationTimeline? _last;

    public static void Register(Kernel kernel)
    {
        kernel.AddVerbMagic<ShowLayout>(LayoutVerb.Definition, HandleLayout, stopped: null);
        kernel.AddVerbMagic<DiffCheckpoints>(DiffVerb.Definition, HandleDiff, stopped: null);
        kernel.AddVerbMagic<ShowTensorStatistics>(StatsVerb.Definition, HandleStatistics, stopped: null);
        kernel.AddVerbMagic<ShowTimeline>(TimelineVerb.Definition, HandleTimeline, stopped: null);
        kernel.AddVerbMagic<ShowRecovery>(Ckpt.Resilience.RecoveryVerb.Definition, HandleRecovery, stopped: null);
    }

    static async Task<object?> HandleRecovery(VerbMagicCall call)
    {
        var name = call.Bind(values => values["--result"][0]);
        if (await CheckpointTarget.ValueAsync(name, call.Context) is not Ckpt.Resilience.IRecoveryChart result)
            throw new ArgumentException($"'{name}' is not a C# variable holding a recovery comparison (IRecoveryChart; run samples/CheckFree's CheckFreeExperiment.Run first)");
        call.Chart("recovery", result.ToChartJson());
        return null;
    }

    static async Task<object?> HandleLayout(VerbMagicCall call)
    {
        var request = call.Bind(LayoutVerb.Bind);
        var (ckpt, opened) = await CheckpointTarget.ResolveAsync(request.Checkpoint, call.Context, set: true);
        try
        {
            var filter = request.Filter;
            var layout = CheckpointLayout.Of(ckpt.Manifest, filter);
            if (layout.TensorCount == 0) throw new ArgumentException($"no tensor of {ckpt.Path} matches '{string.Join("', '", request.Tensors)}'");
            call.Chart("layout", InspectionJson.Layout(ckpt.Path, layout, ModuleTree.Of(ckpt.Manifest, filter)));
        }
        finally { if (opened) ckpt.Dispose(); }
        return null;
    }

    static async Task<object?> HandleDiff(VerbMagicCall call)
    {
        var request = call.Bind(DiffVerb.Bind);
        var (a, openedA) = await CheckpointTarget.ResolveAsync(request.Base, call.Context, set: true);
        try
        {
            var (b, openedB) = await CheckpointTarget.ResolveAsync(request.Compared, call.Context, set: true);
            try
            {
                var report = await Task.Run(() => CheckpointDiff.Compare(a, b, request.Filter, cancellationToken: call.CancellationToken));
                _last = a.LastTimeline;
                call.Chart("diff", InspectionJson.Diff(report));
            }
            finally { if (openedB) b.Dispose(); }
        }
        finally { if (openedA) a.Dispose(); }
        return null;
    }

    static async Task<object?> HandleStatistics(VerbMagicCall call)
    {
        var (target, tensor, bins) = call.Bind(StatsVerb.Bind);
        var (ckpt, opened) = await CheckpointTarget.ResolveAsync(target, call.Context);
        try
        {
            var stats = await Task.Run(() => TensorStatistics.Of(ckpt, tensor, bins, call.CancellationToken));
            _last = ckpt.LastTimeline;
            call.Chart("stats", InspectionJson.Statistics(stats));
        }
        finally { if (opened) ckpt.Dispose(); }
        return null;
    }

    static async Task<object?> HandleTimeline(VerbMagicCall call)
    {
        OperationTimeline? timeline = _last;
        if (call.Bind(values => values.GetValueOrDefault("--checkpoint")?.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v))) is { } named)
        {
            switch (await CheckpointTarget.ValueAsync(named, call.Context))
            {
                case OperationTimeline t: timeline = t; break;
                case Ckpt.Resilience.SaveRecord save: timeline = save.Timeline; break;
                case Ckpt.Resilience.PendingSave save: timeline = save.Timeline; break;
                case Ckpt.Resilience.AsyncCheckpointer checkpointer:
                    timeline = checkpointer.History.LastOrDefault()?.Timeline
                        ?? throw new ArgumentException($"{named} has not saved anything yet");
                    break;
                default:
                    var (ckpt, opened) = await CheckpointTarget.ResolveAsync(named, call.Context);
                    timeline = ckpt.LastTimeline;
                    if (opened) ckpt.Dispose();
                    break;
            }
        }
        if (timeline is null)
            throw new ArgumentException("no checkpoint operation has run yet: run #!ckpt-stats or #!ckpt-diff, or name a checkpoint variable");
        call.Chart("timeline", InspectionJson.Timeline(timeline));
        return null;
    }
}
