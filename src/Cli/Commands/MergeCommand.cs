using System.CommandLine;
using Ckpt.Conversion;
using Ckpt.Merging;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

static class MergeCommand
{
    public static Command Create(TextWriter stdout)
    {
        var config = new Option<string?>("--config") { Description = "mergekit-style YAML (merge_method, models, base_model, parameters, dtype)" };
        var method = new Option<string?>("--method") { Description = MergeMethods.CliNames };
        var models = new Option<string[]>("--model") { Description = "input checkpoint, any readable format, optionally path:weight", AllowMultipleArgumentsPerToken = false };
        var baseModel = new Option<string?>("--base") { Description = "base model for task-vector methods" };
        var t = new Option<double>("--t") { Description = "SLERP factor (0 = first model)", DefaultValueFactory = _ => 0.5 };
        var density = new Option<double>("--density") { Description = "fraction of each task vector kept (TIES, DARE)", DefaultValueFactory = _ => 1.0 };
        var lambda = new Option<double>("--lambda") { Description = "scale of the merged task vector", DefaultValueFactory = _ => 1.0 };
        var rescale = new Option<string?>("--rescale") { Description = "TIES/DARE: inverse-density (DARE's default), l1 (mergekit's rescale: true) or none" };
        var seed = new Option<ulong>("--seed") { Description = "DARE drop-mask seed", DefaultValueFactory = _ => 0UL };
        var dtype = new Option<string?>("--dtype") { Description = "output dtype: F32, BF16, F16, F64 (default: as the inputs)" };
        var output = new Option<string>("--out") { Description = "output folder", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = OutputFolder.OverwriteHelp };
        var maxShard = new Option<string>("--max-shard-size") { Description = "largest shard (default 5GB)", DefaultValueFactory = _ => "5GB" };
        var json = new Option<bool>("--json") { Description = "print the merge log as JSON" };
        var command = new Command("merge", $"Merge checkpoints tensor by tensor into sharded safetensors ({MergeMethods.CliNames}, or a mergekit YAML).")
            { config, method, models, baseModel, t, density, lambda, rescale, seed, dtype, output, overwrite, maxShard, json };
        command.SetAction(parse =>
        {
            var configPath = parse.GetValue(config);
            var spec = new MergeRequest
            {
                Config = configPath,
                Method = parse.GetValue(method),
                Models = parse.GetValue(models) ?? [],
                Base = parse.GetValue(baseModel),
                T = parse.GetValue(t),
                Density = parse.GetValue(density),
                Lambda = parse.GetValue(lambda),
                Rescale = parse.GetValue(rescale),
                Seed = parse.GetValue(seed),
                DType = parse.GetValue(dtype),
            }.ToSpec();
            var report = MergeExecutor.RunToDirectory(spec, parse.GetValue(output)!, ByteSize.Parse(parse.GetValue(maxShard)!), configSource: configPath,
                overwrite: parse.GetValue(overwrite));
            if (parse.GetValue(json)) stdout.WriteLine(report.ToJson());
            else stdout.WriteLine($"{report.Method}: merged {report.Tensors} tensors of {spec.Models.Count} models into {report.Files!.Count} file(s) in {parse.GetValue(output)} "
                + $"({ByteSize.Format(report.InputBytes)} read in {report.Seconds:F1} s)");
            return 0;
        });
        return command;
    }
}
