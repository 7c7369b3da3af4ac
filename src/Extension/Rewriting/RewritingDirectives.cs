using Ckpt.Cluster;
using Ckpt.Conversion;
using Ckpt.Errors;
using Ckpt.Extension.Directives;
using Ckpt.Merging;
using Ckpt.Extension.Visualisation;
using Ckpt.Resharding;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Directives;
using Microsoft.DotNet.Interactive.Formatting;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// The magics that write checkpoints: `#!ckpt-reshard`, `#!ckpt-convert`, `#!ckpt-merge`, `#!ckpt-lcsc`. Each takes the
/// options of the CLI verb of the same name, turns them into the same Kernel request (<see cref="LayoutRequest"/>,
/// <see cref="ConvertOptions"/>, <see cref="MergeRequest"/>, <see cref="CombinationSearchRequest"/>), makes that one
/// Kernel call, shows a table, and binds the result when `--name` is given.
/// </summary>
public static class RewritingDirectives
{
    public static void Register(Kernel kernel)
    {
        kernel.AddMagic<ReshardCheckpoint>(VerbDirective.Create(ReshardVerb.Definition,
            "Reshards a checkpoint for a target layout (as `ckpt reshard`): shows per rank the tensors, bytes needed and read, and time per phase; writes PyTorch DCP with --out."), HandleReshard);
        kernel.AddMagic<ConvertCheckpoint>(VerbDirective.Create(ConvertVerb.Definition,
            "Converts a checkpoint one tensor at a time (as `ckpt convert`) to safetensors, PyTorch DCP or torch.save, and shows what it wrote."), HandleConvert);
        kernel.AddMagic<FinalizeOutput>(VerbDirective.Create(FinalizeVerb.Definition,
            "Commits an output written in parts by reshard or convert --rank r --ranks N (as `ckpt finalize`): writes its index once every part exists."), HandleFinalize);
        kernel.AddMagic<MergeCheckpoints>(VerbDirective.Create(MergeVerb.Definition,
            "Merges checkpoints tensor by tensor into sharded safetensors (as `ckpt merge`): " + MergeMethods.CliNames + ", or a mergekit YAML."), HandleMerge);

        kernel.AddMagic<SearchCombination>(VerbDirective.Create(LcscVerb.Definition,
            "Searches linear combinations of saved checkpoints (LCSC; coefficients sum to 1) for the lowest metric, with a live chart. --eval " + CombinationMetrics.Syntax + "."),
            SearchCombinationHandler.HandleAsync);
    }

    static Task HandleReshard(ReshardCheckpoint command, KernelInvocationContext context)
    {
        var values = VerbDirective.Values(ReshardVerb.Definition, command);
        return Guarded(command, context, "#!ckpt-reshard", VerbDirective.Text(values, "--name"), async () =>
        {
            VerbDirective.Positional(ReshardVerb.Definition, values);
            var request = ReshardVerb.Bind(values);
            var layout = request.Layout.Resolve();
            using var ckpt = await Task.Run(() => Checkpoint.Open(request.Path, context.CancellationToken), context.CancellationToken);
            layout.RequireFits(ckpt.Manifest, ckpt.Path);
            if (request.Output is null)
            {
                var planned = await Task.Run(() => ReshardVerb.Plan(ckpt.Manifest, layout, request.Only, ckpt.Storage.Tuning), context.CancellationToken);
                context.DisplayAs(RewriteHtml.Plan(layout, planned), HtmlFormatter.MimeType);
                return planned.Select(p => p.Plan).ToArray();
            }
            var result = await Task.Run(() => Resharder.Reshard(ckpt, new ReshardOptions(layout, request.Output, request.Only, request.Overwrite, request.Share), context.CancellationToken), context.CancellationToken);
            context.DisplayAs(RewriteHtml.Reshard(result), HtmlFormatter.MimeType);
            return result;
        });
    }

    static Task HandleConvert(ConvertCheckpoint command, KernelInvocationContext context)
    {
        var values = VerbDirective.Values(ConvertVerb.Definition, command);
        return Guarded(command, context, "#!ckpt-convert", VerbDirective.Text(values, "--name"), async () =>
        {
            VerbDirective.Positional(ConvertVerb.Definition, values);
            var (path, options) = ConvertVerb.Bind(values);
            using var ckpt = await Task.Run(() => Checkpoint.Open(path, context.CancellationToken), context.CancellationToken);
            var result = await Task.Run(() => CheckpointConverter.Convert(ckpt, options, context.CancellationToken), context.CancellationToken);
            context.DisplayAs(RewriteHtml.Conversion(result, options.OutputDirectory, options.To), HtmlFormatter.MimeType);
            return result;
        });
    }

    static Task HandleFinalize(FinalizeOutput command, KernelInvocationContext context)
    {
        var values = VerbDirective.Values(FinalizeVerb.Definition, command);
        return Guarded(command, context, "#!ckpt-finalize", VerbDirective.Text(values, "--name"), async () =>
        {
            VerbDirective.Positional(FinalizeVerb.Definition, values);
            var (output, overwrite) = FinalizeVerb.Bind(values);
            var result = await Task.Run(() => FinalizeVerb.Finalize(output, overwrite), context.CancellationToken);
            context.DisplayAs(RewriteHtml.Finalized(result), HtmlFormatter.MimeType);
            return result;
        });
    }

    static Task HandleMerge(MergeCheckpoints command, KernelInvocationContext context)
    {
        var values = VerbDirective.Values(MergeVerb.Definition, command);
        return Guarded(command, context, "#!ckpt-merge", VerbDirective.Text(values, "--name"), async () =>
        {
            var (request, output, maxShardBytes, overwrite) = MergeVerb.Bind(values);
            var spec = request.ToSpec();
            var report = await Task.Run(() => MergeExecutor.RunToDirectory(spec, output, maxShardBytes, configSource: request.Config,
                cancellationToken: context.CancellationToken, overwrite: overwrite), context.CancellationToken);
            context.DisplayAs(RewriteHtml.Merge(report, output), HtmlFormatter.MimeType);
            return report;
        });
    }

    /// <summary>
    /// Runs <paramref name="body"/> and binds what it returns to <paramref name="name"/>. Bad input fails the cell with its
    /// one sentence the CLI prints for it (no stack trace); the name is checked before any work.
    /// </summary>
    internal static async Task Guarded(KernelCommand command, KernelInvocationContext context, string magic, string? name, Func<Task<object>> body)
    {
        if (name is not null && !VariableName.IsValid(name))
        {
            context.Fail(command, message: $"'{name}' is not a valid C# variable name for --name.");
            return;
        }
        object result;
        try { result = await body(); }
        catch (OperationCanceledException)
        {
            context.Fail(command, message: "stopped before it finished; nothing was bound");
            return;
        }
        catch (Exception e)
        {
            MagicFailure.Fail(context, command, e, magic);
            return;
        }
        await CSharpVariable.BindForMagicAsync(command, context, name, result);
    }

}
