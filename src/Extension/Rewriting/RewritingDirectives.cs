using Ckpt.Cluster;
using Ckpt.Conversion;
using Ckpt.Merging;
using Ckpt.Outputs;
using Ckpt.Resharding;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// The magics that write checkpoints: `#!ckpt-reshard`, `#!ckpt-convert`, `#!ckpt-finalize`, `#!ckpt-merge`, `#!ckpt-lcsc`.
/// Each takes the options of the CLI verb of the same name, turns them into the same Kernel request (<see cref="LayoutRequest"/>,
/// <see cref="ConvertOptions"/>, <see cref="MergeRequest"/>, <see cref="CombinationSearchRequest"/>), makes that one
/// Kernel call, shows a table, and binds the result when `--name` is given (<see cref="VerbMagic"/>).
/// </summary>
public static class RewritingDirectives
{
    public static void Register(Kernel kernel)
    {
        kernel.AddVerbMagic<ReshardCheckpoint>(ReshardVerb.Definition, HandleReshard);
        kernel.AddVerbMagic<ConvertCheckpoint>(ConvertVerb.Definition, HandleConvert);
        kernel.AddVerbMagic<FinalizeOutput, FinalizeRequest, FinalizedOutput>(FinalizeVerb.Definition,
            FinalizeVerb.Bind, (bound, _) => FinalizeVerb.Finalize(bound.Output, bound.Overwrite), (call, result) => call.Show(RewriteHtml.Finalized(result)));
        kernel.AddVerbMagic<MergeCheckpoints>(MergeVerb.Definition, HandleMerge);
        kernel.AddVerbMagic<SearchCombination>(LcscVerb.Definition, SearchCombinationHandler.HandleAsync);
    }

    static async Task<object?> HandleReshard(VerbMagicCall call)
    {
        var request = call.Bind(ReshardVerb.Bind);
        var layout = request.Layout.Resolve();
        using var ckpt = await call.Run(() => Checkpoint.Open(request.Path, call.CancellationToken));
        layout.RequireFits(ckpt.Manifest, ckpt.Path);
        if (request.Output is null)
        {
            var planned = await call.Run(() => ReshardVerb.Plan(ckpt.Manifest, layout, request.Only, ckpt.Storage.Tuning));
            call.Show(RewriteHtml.Plan(layout, planned));
            return planned.Select(p => p.Plan).ToArray();
        }
        var result = await call.Run(() => Resharder.Reshard(ckpt, new ReshardOptions(layout, request.Output, request.Only, request.Overwrite, request.Share), call.CancellationToken));
        call.Show(RewriteHtml.Reshard(result));
        return result;
    }

    static async Task<object?> HandleConvert(VerbMagicCall call)
    {
        var (path, options) = call.Bind(ConvertVerb.Bind);
        using var ckpt = await call.Run(() => Checkpoint.Open(path, call.CancellationToken));
        var result = await call.Run(() => CheckpointConverter.Convert(ckpt, options, call.CancellationToken));
        call.Show(RewriteHtml.Conversion(result, options.OutputDirectory, options.To));
        return result;
    }

    static async Task<object?> HandleMerge(VerbMagicCall call)
    {
        var (request, output, maxShardBytes, overwrite) = call.Bind(MergeVerb.Bind);
        var spec = request.ToSpec();
        var report = await call.Run(() => MergeExecutor.RunToDirectory(spec, output, maxShardBytes, configSource: request.Config,
            cancellationToken: call.CancellationToken, overwrite: overwrite));
        call.Show(RewriteHtml.Merge(report, output));
        return report;
    }
}
