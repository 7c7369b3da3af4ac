using Ckpt.Benchmarks;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt bench load|generate|forward`: the options of <see cref="BenchVerbs"/>, one benchmark each.</summary>
static class BenchCommand
{
    public static Command Create(TextWriter stdout, Terminal? terminal = null)
    {
        var bench = new Command("bench", BenchVerbs.Summary);

        bench.Subcommands.Add(VerbCommand.Create(BenchVerbs.Load, (given, _) =>
        {
            var v = BenchVerbs.Load.Read(given);
            using var ckpt = Checkpoint.Open(v.Required("--path"));
            var r = LoadBenchmark.Run(ckpt, v.Integer("--parallelism"));
            if (v.Flag("--json"))
                stdout.WriteLine(VerbJson.Serialize(r.ToJson(), indented: false));
            else
                stdout.WriteLine($"read {ByteSize.Format(r.Bytes)} in {r.Seconds:F3} s = {r.GbPerSecond:F2} GB/s; peak memory {ByteSize.Format(r.PeakMemoryBytes)}");
            return Task.FromResult(0);
        }));

        bench.Subcommands.Add(VerbCommand.Create(BenchVerbs.Forward, (given, _) =>
        {
            var v = BenchVerbs.Forward.Read(given);
            var r = ForwardBenchmark.Run(v.Required("--model"), v.Integer("--batch")!.Value, v.Integer("--seq")!.Value, v.Integer("--iters")!.Value,
                v.Text("--device"), v.Text("--dtype"));
            stdout.WriteLine(VerbJson.Serialize(r.ToJson(), indented: false));
            return Task.FromResult(0);
        }));

        bench.Subcommands.Add(VerbCommand.Create(BenchVerbs.Generate, (given, _) =>
        {
            var v = BenchVerbs.Generate.Read(given);
            var output = v.Required("--out");
            var (progress, bar) = ProgressBar.ForBytes(terminal, stdout);
            var result = SyntheticCheckpoint.Write(output, ByteSize.Parse(v.Required("--size")), v.Integer("--shards")!.Value,
                v.Integer("--hidden")!.Value, overwrite: v.Flag("--overwrite"), progress: progress);
            bar?.Done();
            stdout.WriteLine($"wrote {ByteSize.Format(result.TotalBytes)} in {result.Files.Count} shards to {output}");
            return Task.FromResult(0);
        }));
        return bench;
    }
}
