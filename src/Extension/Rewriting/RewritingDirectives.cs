using System.Diagnostics;
using Ckpt.Conversion;
using Ckpt.Errors;
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
        kernel.AddMagic<ReshardCheckpoint>(new KernelActionDirective("#!ckpt-reshard",
            "Reshards a checkpoint for a target layout (as `ckpt reshard`): shows per rank the tensors, bytes needed and read, and time per phase; writes PyTorch DCP with --out.")
        {
            Parameters =
            {
                new KernelDirectiveParameter("--path", "A checkpoint file or folder, any readable format.") { AllowImplicitName = true, MaxOccurrences = int.MaxValue, TypeHint = "file" },
                new KernelDirectiveParameter("--world-size", "Number of target ranks (the mesh product when --mesh is given)."),
                new KernelDirectiveParameter("--mesh", "Device mesh, e.g. 2x2 (ranks row-major)."),
                new KernelDirectiveParameter("--placements", "One per mesh dimension, e.g. \"Shard(0),Replicate()\" (default Shard(0) on a 1-D mesh)."),
                new KernelDirectiveParameter("--layout", "dtensor (placements, the default), flat (FSDP flat shards) or tp (Megatron tensor-parallel rules)."),
                new KernelDirectiveParameter("--gated", "With --layout tp: fc1 holds [gate; up] halves (SwiGLU).") { Flag = true },
                new KernelDirectiveParameter("--out", "Output folder for the DCP checkpoint; without it the magic only plans.") { TypeHint = "file" },
                new KernelDirectiveParameter("--overwrite", Outputs.OutputFolder.OverwriteHelp) { Flag = true },
                new KernelDirectiveParameter("--only", "Tensor name glob to keep, e.g. model.**"),
                new KernelDirectiveParameter("--name", "Bind the result to this C# variable."),
            },
        }, HandleReshard);

        kernel.AddMagic<ConvertCheckpoint>(new KernelActionDirective("#!ckpt-convert",
            "Converts a checkpoint one tensor at a time (as `ckpt convert`) to safetensors, PyTorch DCP or torch.save, and shows what it wrote.")
        {
            Parameters =
            {
                new KernelDirectiveParameter("--path", "A checkpoint file or folder, any readable format.") { AllowImplicitName = true, MaxOccurrences = int.MaxValue, TypeHint = "file" },
                new KernelDirectiveParameter("--to", "safetensors (default), dcp or torch."),
                new KernelDirectiveParameter("--out", "Output folder.") { Required = true, TypeHint = "file" },
                new KernelDirectiveParameter("--overwrite", Outputs.OutputFolder.OverwriteHelp) { Flag = true },
                new KernelDirectiveParameter("--only", "Tensor name glob to keep, e.g. model.**"),
                new KernelDirectiveParameter("--dtype", "Cast floating tensors: F32, F16, BF16, F64."),
                new KernelDirectiveParameter("--max-shard-size", "Largest safetensors shard, e.g. 2GB (default 5GB)."),
                new KernelDirectiveParameter("--strip-prefix", "Remove this prefix from tensor names, e.g. model."),
                new KernelDirectiveParameter("--merge-adapter", "PEFT LoRA adapter folder to merge into the weights (W + scaling·B·A).") { TypeHint = "file" },
                new KernelDirectiveParameter("--name", "Bind the result to this C# variable."),
            },
        }, HandleConvert);

        kernel.AddMagic<MergeCheckpoints>(new KernelActionDirective("#!ckpt-merge",
            "Merges checkpoints tensor by tensor into sharded safetensors (as `ckpt merge`): " + MergeMethods.CliNames + ", or a mergekit YAML.")
        {
            Parameters =
            {
                new KernelDirectiveParameter("--method", MergeMethods.CliNames),
                new KernelDirectiveParameter("--model", "An input checkpoint, optionally path:weight; once per input.") { MaxOccurrences = int.MaxValue, TypeHint = "file" },
                new KernelDirectiveParameter("--base", "Base model for task-vector methods.") { TypeHint = "file" },
                new KernelDirectiveParameter("--t", "SLERP factor (0 = first model; default 0.5)."),
                new KernelDirectiveParameter("--density", "Fraction of each task vector kept (TIES, DARE; default 1)."),
                new KernelDirectiveParameter("--lambda", "Scale of the merged task vector (default 1)."),
                new KernelDirectiveParameter("--rescale", "TIES/DARE: inverse-density (DARE's default), l1 (mergekit's rescale: true) or none."),
                new KernelDirectiveParameter("--seed", "DARE drop-mask seed (default 0)."),
                new KernelDirectiveParameter("--config", "A mergekit-style YAML (merge_method, models, base_model, parameters, dtype).") { TypeHint = "file" },
                new KernelDirectiveParameter("--out", "Output folder.") { Required = true, TypeHint = "file" },
                new KernelDirectiveParameter("--overwrite", Outputs.OutputFolder.OverwriteHelp) { Flag = true },
                new KernelDirectiveParameter("--dtype", "Output dtype: F32, BF16, F16, F64 (default: as the inputs)."),
                new KernelDirectiveParameter("--name", "Bind the merge report to this C# variable."),
            },
        }, HandleMerge);

        kernel.AddMagic<SearchCombination>(new KernelActionDirective("#!ckpt-lcsc",
            "Searches linear combinations of saved checkpoints (LCSC; coefficients sum to 1) for the lowest metric, with a live chart. --eval " + CombinationMetrics.Syntax + ".")
        {
            Parameters =
            {
                new KernelDirectiveParameter("--checkpoints", "A folder of checkpoints, a glob (run/step-*.safetensors), or a list: comma-separated or one value each.") { AllowImplicitName = true, MaxOccurrences = int.MaxValue, TypeHint = "file" },
                new KernelDirectiveParameter("--eval", "eval-loss:<batch.safetensors>[#key]: causal-LM eval loss of the combination on the batch's input_ids or eval_input_ids " +
                    "(config.json beside the first checkpoint; needs LibTorch); mse:<checkpoint>: mean squared difference to that checkpoint.") { Required = true },
                new KernelDirectiveParameter("--budget", "Metric evaluations, the uniform start included (default 200)."),
                new KernelDirectiveParameter("--seed", "Search seed (default 0): the same seed gives the same result."),
                new KernelDirectiveParameter("--last", "Combine only the last N checkpoints (in name order)."),
                new KernelDirectiveParameter("--out", "Write the best combination (safetensors) and lcsc_log.json here.") { TypeHint = "file" },
                new KernelDirectiveParameter("--overwrite", Outputs.OutputFolder.OverwriteHelp) { Flag = true },
                new KernelDirectiveParameter("--dtype", "Dtype of the written combination: F32, BF16, F16, F64."),
                new KernelDirectiveParameter("--name", "Bind the search result to this C# variable."),
            },
        }, SearchCombinationHandler.HandleAsync);
    }

    static Task HandleReshard(ReshardCheckpoint command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-reshard", command.Name, async () =>
    {
        var path = DirectivePositionals.Single(command, "#!ckpt-reshard", command.Path, "checkpoint",
            "#!ckpt-reshard <path> --world-size N [--mesh AxB] [--placements ...] [--out dir]",
            "--world-size", "--mesh", "--placements", "--layout", "--out", "--only", "--name");
        var layout = new LayoutRequest(command.Layout ?? "dtensor", command.WorldSize, command.Mesh, command.Placements, command.Gated).Resolve();
        var only = command.Only is null ? Array.Empty<string>() : [command.Only];
        using var ckpt = await Task.Run(() => Checkpoint.Open(path, context.CancellationToken), context.CancellationToken);
        layout.RequireFits(ckpt.Manifest, ckpt.Path);
        if (command.Out is null)
        {
            var filter = new TensorFilter(only);
            var planned = await Task.Run(() => Enumerable.Range(0, layout.WorldSize).Select(rank =>
            {
                var clock = Stopwatch.StartNew();
                var plan = ReshardPlanner.Plan(ckpt.Manifest, layout, rank, t => filter.Includes(t.Name));
                return (plan, clock.Elapsed.TotalSeconds);
            }).ToArray(), context.CancellationToken);
            context.DisplayAs(RewriteHtml.Plan(layout, planned), HtmlFormatter.MimeType);
            return planned.Select(p => p.plan).ToArray();
        }
        var result = await Task.Run(() => Resharder.Reshard(ckpt, new ReshardOptions(layout, command.Out, only, command.Overwrite), context.CancellationToken), context.CancellationToken);
        context.DisplayAs(RewriteHtml.Reshard(result), HtmlFormatter.MimeType);
        return result;
    });

    static Task HandleConvert(ConvertCheckpoint command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-convert", command.Name, async () =>
    {
        var path = DirectivePositionals.Single(command, "#!ckpt-convert", command.Path, "checkpoint",
            "#!ckpt-convert <path> --to safetensors|dcp|torch --out <dir> [--only glob] [--dtype F16]",
            "--to", "--out", "--only", "--dtype", "--max-shard-size", "--strip-prefix", "--merge-adapter", "--name");
        var to = OptionValues.TargetFormat(command.To ?? "safetensors");
        if (string.IsNullOrWhiteSpace(command.Out)) throw new FormatException("#!ckpt-convert needs --out <dir>");
        var options = new ConvertOptions(to, command.Out, ByteSize.Parse(command.MaxShardSize ?? "5GB"),
            command.Only is null ? [] : [command.Only], OptionValues.DType(command.DType), command.StripPrefix, command.MergeAdapter, command.Overwrite);
        using var ckpt = await Task.Run(() => Checkpoint.Open(path, context.CancellationToken), context.CancellationToken);
        var result = await Task.Run(() => CheckpointConverter.Convert(ckpt, options, context.CancellationToken), context.CancellationToken);
        context.DisplayAs(RewriteHtml.Conversion(result, command.Out, to), HtmlFormatter.MimeType);
        return result;
    });

    static Task HandleMerge(MergeCheckpoints command, KernelInvocationContext context) => Guarded(command, context, "#!ckpt-merge", command.Name, async () =>
    {
        if (string.IsNullOrWhiteSpace(command.Out)) throw new FormatException("#!ckpt-merge needs --out <dir>");
        var models = DirectiveOptions.Values(command, "#!ckpt-merge", "--model");
        var spec = new MergeRequest
        {
            Config = command.Config,
            Method = command.Method,
            Models = models,
            Base = command.Base,
            T = command.T ?? 0.5,
            Density = command.Density ?? 1.0,
            Lambda = command.Lambda ?? 1.0,
            Rescale = command.Rescale,
            Seed = command.Seed ?? 0,
            DType = command.DType,
        }.ToSpec();
        var report = await Task.Run(() => MergeExecutor.RunToDirectory(spec, command.Out, configSource: command.Config,
            cancellationToken: context.CancellationToken, overwrite: command.Overwrite), context.CancellationToken);
        context.DisplayAs(RewriteHtml.Merge(report, command.Out), HtmlFormatter.MimeType);
        return report;
    });

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
