using System.CommandLine;
using System.Text.Json.Nodes;
using Ckpt.Benchmarks;
using Ckpt.Cli.Progress;
using Ckpt.Conversion;
using Ckpt.Manifest;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

static class BenchCommand
{
    public static Command Create(TextWriter stdout, Terminal? terminal = null)
    {
        var bench = new Command("bench", "Benchmarks: `load` reads every tensor of a checkpoint; `generate` writes a synthetic one.");

        var path = new Argument<string>("path") { Description = "checkpoint file or folder" };
        var json = new Option<bool>("--json") { Description = "print {bytes, seconds, gbPerSecond, peakMemoryBytes}" };
        var workers = new Option<int?>("--parallelism") { Description = "tensors in flight (default: cores, at least 2)" };
        var load = new Command("load", "Read every tensor once (page cache as it is) and report the rate and peak memory.") { path, json, workers };
        load.SetAction(parse =>
        {
            using var ckpt = Checkpoint.Open(parse.GetValue(path)!);
            var r = LoadBenchmark.Run(ckpt, parse.GetValue(workers));
            if (parse.GetValue(json))
                stdout.WriteLine(ManifestJson.Serialize(new JsonObject
                {
                    ["bytes"] = r.Bytes,
                    ["seconds"] = r.Seconds,
                    ["gbPerSecond"] = r.GbPerSecond,
                    ["peakMemoryBytes"] = r.PeakMemoryBytes,
                    ["tensors"] = r.Tensors,
                    ["files"] = ckpt.Manifest.Files.Count,
                    ["parallelism"] = r.Parallelism,
                }, indented: false));
            else
                stdout.WriteLine($"read {ByteSize.Format(r.Bytes)} in {r.Seconds:F3} s = {r.GbPerSecond:F2} GB/s; peak memory {ByteSize.Format(r.PeakMemoryBytes)}");
            return 0;
        });

        var output = new Option<string>("--out") { Description = "output folder", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = OutputFolder.OverwriteHelp };
        var size = new Option<string>("--size") { Description = "approximate total size", DefaultValueFactory = _ => "1GB" };
        var shards = new Option<int>("--shards") { Description = "number of shards", DefaultValueFactory = _ => 8 };
        var hidden = new Option<int>("--hidden") { Description = "hidden size (a multiple of 128: heads of 128)", DefaultValueFactory = _ => 2048 };
        var generate = new Command("generate", "Write a LLaMA-shaped bf16 sharded safetensors checkpoint of random weights.") { output, overwrite, size, shards, hidden };
        generate.SetAction(parse =>
        {
            var (progress, bar) = ProgressBar.ForBytes(terminal, stdout);
            var result = SyntheticCheckpoint.Write(parse.GetValue(output)!, ByteSize.Parse(parse.GetValue(size)!), parse.GetValue(shards),
                parse.GetValue(hidden), overwrite: parse.GetValue(overwrite), progress: progress);
            bar?.Done();
            stdout.WriteLine($"wrote {ByteSize.Format(result.TotalBytes)} in {result.Files.Count} shards to {parse.GetValue(output)}");
            return 0;
        });

        var model = new Argument<string>("model") { Description = "causal LM checkpoint with config.json" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var seq = new Option<int>("--seq") { DefaultValueFactory = _ => 512 };
        var iters = new Option<int>("--iters") { DefaultValueFactory = _ => 10 };
        var device = new Option<string?>("--device") { Description = "cpu (default) or cuda" };
        var dtype = new Option<string?>("--dtype") { Description = "compute dtype: f32, bf16, f16 (default: as saved)" };
        var forward = new Command("forward", "Time the TorchSharp forward of a causal LM on random tokens.") { model, batch, seq, iters, device, dtype };
        forward.SetAction(parse =>
        {
            var r = ForwardBenchmark.Run(parse.GetValue(model)!, parse.GetValue(batch), parse.GetValue(seq), parse.GetValue(iters),
                parse.GetValue(device), parse.GetValue(dtype));
            stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(r, new System.Text.Json.JsonSerializerOptions { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase }));
            return 0;
        });

        bench.Subcommands.Add(load);
        bench.Subcommands.Add(forward);
        bench.Subcommands.Add(generate);
        return bench;
    }
}
