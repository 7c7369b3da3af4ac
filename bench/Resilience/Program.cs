using System.Text.Json;
using Ckpt.Bench.Resilience;

// Benchmarks and the crash-test child for training-time checkpointing (src/Kernel/Resilience).
//   erasure   [--mib 64] [--repeats 3]                        Reed-Solomon encode/decode MB/s
//   stall     [--dir D] [--mib 256] [--steps 24] [--every 4] [--work 4] [--torch]   async stall vs sync save
//   crashloop --dir D [--max-steps N]                          train + save every step until killed
//   peers     [--peers 6] [--parity 2] [--mib 16]              in-memory erasure-coded peer snapshots
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
                int.Parse(Option("every", "4")), int.Parse(Option("work", "4")), Flag("torch"));
            Console.WriteLine(JsonSerializer.Serialize(result, json));
        }
        finally
        {
            if (!Flag("keep")) Directory.Delete(dir, recursive: true);
        }
        return 0;
    }
    case "crashloop":
        return await CrashLoop.Run(Option("dir", ""), long.Parse(Option("max-steps", long.MaxValue.ToString())));
    default:
        Console.Error.WriteLine("usage: Ckpt.Bench.Resilience erasure|stall|crashloop|peers [options] (see Program.cs)");
        return 2;
}
