using System.Text.Json;
using Ckpt.Bench.Resilience;

// Benchmarks and the crash-test child for training-time checkpointing (src/Kernel/Resilience).
//   erasure   [--mib 64] [--repeats 3]                        Reed-Solomon encode/decode MB/s
//   stall     [--dir D] [--mib 256] [--steps 24] [--every 4] [--step-ms 300] [--torch [--device cuda]]   async stall vs sync save
//   crashloop --dir D [--max-steps N]                          train + save every step until killed
//   peers     [--peers 6] [--parity 2] [--mib 16]              in-memory erasure-coded peer snapshots
//   peer      --socket PATH                                    one peer process holding shards in memory (tests kill it)
//   checkfree [--failure 200] [--after 100] [--lost 1] ...     CheckFree vs from-scratch recovery curves on the micro LLaMA
var mode = args.Length > 0 ? args[0] : "help";
string Option(string name, string fallback)
{
    int i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
bool Flag(string name) => args.Contains("--" + name);
var json = new JsonSerializerOptions { WriteIndented = true };

switch (mode)
{
    case "erasure":
        Console.WriteLine(JsonSerializer.Serialize(ErasureThroughput.Run(int.Parse(Option("mib", "64")),
            [(4, 2), (6, 3), (10, 4)], int.Parse(Option("repeats", "3"))), json));
        return 0;
    case "stall":
    {
        var dir = Option("dir", Path.Combine(Path.GetTempPath(), "ckpt-bench-stall-" + Guid.NewGuid().ToString("N")));
        try
        {
            var result = await StallBenchmark.Run(dir, int.Parse(Option("mib", "256")), int.Parse(Option("steps", "24")),
                int.Parse(Option("every", "4")), double.Parse(Option("step-ms", "300")),
                Flag("torch") ? Option("device", "cpu") : null);
            Console.WriteLine(JsonSerializer.Serialize(result, json));
        }
        finally
        {
            if (!Flag("keep")) Directory.Delete(dir, recursive: true);
        }
        return 0;
    }
    case "peers":
        Console.WriteLine(JsonSerializer.Serialize(PeerThroughput.Run(int.Parse(Option("peers", "8")), int.Parse(Option("parity", "2")),
            int.Parse(Option("mib", "64"))), json));
        return 0;
    case "checkfree":
    {
        var r = CheckFreeExperiment.Run(Option("fixture", "tests/fixtures/trajectory-llama-micro"), new CheckFreeExperimentOptions
        {
            FailureStep = int.Parse(Option("failure", "200")), StepsAfterFailure = int.Parse(Option("after", "100")),
            LearningRate = double.Parse(Option("lr", "3e-3")), LostStage = int.Parse(Option("lost", "1")),
            Layers = int.Parse(Option("layers", "4")), Seed = int.Parse(Option("seed", "7")), BatchSize = int.Parse(Option("batch", "32")),
            LossRows = int.Parse(Option("loss-rows", "64")), CosineDecay = !Flag("constant-lr"),
        }, (label, step, loss) => { if (step % 5 == 0) Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {label} {step} {loss:0.0000}"); });
        Console.WriteLine($"layers {r.Layers}, stage elements [{string.Join(", ", r.StageElements)}], {r.Elapsed.TotalSeconds:0.0} s");
        Console.WriteLine($"loss before failure: {string.Join(" ", r.LossBeforeFailure.Where((_, i) => i % 10 == 9).Select(l => l.ToString("0.000")))}");
        Console.WriteLine($"pre-failure {r.PreFailureLoss:0.0000}; recent |g|^2 per stage [{string.Join(", ", r.RecentGradientNormSquared.Select(g => g.ToString("0.000e0")))}]");
        foreach (var c in r.Curves)
            Console.WriteLine($"{c.Label,-13} recovers in {c.StepsToRecover?.ToString() ?? "never"} (w_prev {c.WeightOfPrevious:0.000}): " +
                string.Join(" ", c.Loss.Where((_, i) => i < 10 || i % 10 == 0).Select(l => l.ToString("0.000"))));
        return 0;
    }
    case "peer":
        return await PeerProcess.Run(Option("socket", ""));
    case "crashloop":
        return await CrashLoop.Run(Option("dir", ""), long.Parse(Option("max-steps", long.MaxValue.ToString())));
    default:
        Console.Error.WriteLine("usage: Ckpt.Bench.Resilience erasure|stall|crashloop|peers|peer|checkfree [options] (see Program.cs)");
        return 2;
}
