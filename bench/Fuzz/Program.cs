using System.Diagnostics;
using System.Text.Json;
using Ckpt.Tests.Fuzzing;

// The long fuzz campaign: N mutations per reader (default 100,000), readers in parallel, a JSON summary.
// Usage: ckpt-fuzz <fixtures dir> [mutations per reader] [seed]
var fixtures = args.Length > 0 ? args[0] : Path.Combine("tests", "fixtures");
int count = args.Length > 1 ? int.Parse(args[1]) : 100_000;
int seed = args.Length > 2 ? int.Parse(args[2]) : 1;
(string Fixture, string Entry, string[] Targets)[] readers =
[
    ("hf-gpt2-tiny", "model.safetensors", ["model.safetensors"]),
    ("hf-llama-tiny-sharded", "", ["model.safetensors.index.json", "model-00001-of-00006.safetensors"]),
    ("torch-save", "variety.pt", ["variety.pt"]),
    ("torch-save", "legacy.pt", ["legacy.pt"]),
    ("torch-save", "nested.pt", ["nested.pt"]),
    ("hf-llama-tiny-bin", "", ["pytorch_model.bin.index.json", "pytorch_model-00001-of-00003.bin"]),
    ("dcp-dtensor1d-4rank", "", [".metadata", "__0_0.distcp"]),
    ("dcp-fsdp2-4rank", "", [".metadata", "__1_0.distcp"]),
];
var results = new Dictionary<string, object>();
var clock = Stopwatch.StartNew();
Parallel.ForEach(readers, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, r =>
{
    var sw = Stopwatch.StartNew();
    var cases = FuzzHarness.Campaign(Path.Combine(fixtures, r.Fixture), r.Entry, r.Targets, count, seed);
    var findings = cases.Where(c => c.Outcome is not (FuzzOutcome.Loaded or FuzzOutcome.Refused)).ToList();
    var summary = new Dictionary<string, object>
    {
        ["mutations"] = cases.Count,
        ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 1),
        ["outcomes"] = cases.GroupBy(c => c.Outcome.ToString()).ToDictionary(g => g.Key, g => g.Count()),
        ["refusedBy"] = cases.Where(c => c.Outcome == FuzzOutcome.Refused).GroupBy(c => c.Detail).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count()),
        ["findings"] = findings.Take(10).Select(f => $"{f.File} [{f.Mutation}] {f.Outcome}: {f.Detail.Split('\n')[0]}").ToArray(),
    };
    lock (results) results[$"{r.Fixture}/{r.Entry}"] = summary;
    Console.Error.WriteLine($"{r.Fixture}/{r.Entry}: {cases.Count} in {sw.Elapsed.TotalSeconds:F0} s, {findings.Count} findings");
});
Console.WriteLine(JsonSerializer.Serialize(new { seed, perReader = count, seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), readers = results },
    new JsonSerializerOptions { WriteIndented = true }));
