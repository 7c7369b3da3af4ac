using System.CommandLine;
using System.Text.Json.Nodes;
using Ckpt.Conversion;
using Ckpt.Manifest;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

static class ConvertCommand
{
    public static Command Create(TextWriter stdout)
    {
        var path = new Argument<string>("path") { Description = "checkpoint file or folder, any readable format" };
        var to = new Option<string>("--to") { Description = "target format: safetensors, dcp (one rank, whole-tensor chunks) or torch (model.pt)", DefaultValueFactory = _ => "safetensors" };
        var output = new Option<string>("--out") { Description = "output folder", Required = true };
        var maxShard = new Option<string>("--max-shard-size") { Description = "largest shard, e.g. 2GB, 500MB (default 5GB)", DefaultValueFactory = _ => "5GB" };
        var only = new Option<string[]>("--only") { Description = "tensor name globs to keep, e.g. 'model.**'", AllowMultipleArgumentsPerToken = true };
        var dtype = new Option<string?>("--dtype") { Description = "cast floating tensors: F32, F16, BF16, F64" };
        var strip = new Option<string?>("--strip-prefix") { Description = "remove this prefix from tensor names, e.g. 'model.'" };
        var adapter = new Option<string?>("--merge-adapter") { Description = "PEFT LoRA adapter folder to merge into the weights as they are written (W + scaling·B·A)" };
        var json = new Option<bool>("--json") { Description = "print a JSON report" };
        var overwrite = new Option<bool>("--overwrite") { Description = OutputFolder.OverwriteHelp };
        var command = new Command("convert", "Convert a checkpoint, one tensor at a time.") { path, to, output, overwrite, maxShard, only, dtype, strip, adapter, json };
        command.SetAction(parse =>
        {
            var target = OptionValues.TargetFormat(parse.GetValue(to)!);
            var cast = OptionValues.DType(parse.GetValue(dtype));
            var options = new ConvertOptions(target, parse.GetValue(output)!, ByteSize.Parse(parse.GetValue(maxShard)!),
                parse.GetValue(only) ?? [], cast, parse.GetValue(strip), parse.GetValue(adapter), parse.GetValue(overwrite));
            using var ckpt = Checkpoint.Open(parse.GetValue(path)!);
            var result = CheckpointConverter.Convert(ckpt, options);
            if (parse.GetValue(json))
            {
                var report = new JsonObject
                {
                    ["files"] = new JsonArray(result.Files.Select(f => (JsonNode)f).ToArray()),
                    ["index"] = result.IndexFile,
                    ["tensors"] = result.TensorCount,
                    ["bytes"] = result.BytesWritten,
                    ["skippedObjects"] = new JsonArray(result.SkippedObjects.Select(s => (JsonNode)s).ToArray()),
                    ["copiedFiles"] = new JsonArray(result.CopiedFiles.Select(f => (JsonNode)f).ToArray()),
                    ["mergedWeights"] = result.MergedWeights,
                    ["phases"] = new JsonObject(result.Timeline.Phases.Select(kv => KeyValuePair.Create(kv.Key,
                        (JsonNode?)new JsonObject { ["seconds"] = kv.Value.Seconds, ["bytes"] = kv.Value.Bytes }))),
                };
                stdout.WriteLine(ManifestJson.Serialize(report));
            }
            else
            {
                stdout.WriteLine($"wrote {result.TensorCount} tensors, {ByteSize.Format(result.BytesWritten)}, to {result.Files.Count} file(s) in {options.OutputDirectory}");
                if (result.MergedWeights > 0)
                    stdout.WriteLine($"merged the LoRA adapter {options.MergeAdapter} into {result.MergedWeights} weights");
                if (result.CopiedFiles.Count > 0)
                    stdout.WriteLine($"copied {string.Join(", ", result.CopiedFiles.Select(Path.GetFileName))}");
                if (result.SkippedObjects.Count > 0)
                    stdout.WriteLine($"skipped {result.SkippedObjects.Count} non-tensor values ({(target == TargetFormat.Dcp ? "not plain data" : "this format holds tensors only")})");
            }
            return 0;
        });
        return command;
    }
}
