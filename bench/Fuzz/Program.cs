using System.Diagnostics;
using System.Text.Json;
using Ckpt.Tests.Fuzzing;

// The long fuzz campaign: N mutations per reader (default 100,000), readers in parallel, a JSON summary.
// Usage: ckpt-fuzz <fixtures dir> [mutations per reader] [seed] [reader filter, e.g. dcp-fsdp2]
//        ckpt-fuzz replay <fixtures dir> <seed> <reader filter> <mutation index> [runs]: rerun one finding alone
// A mutation that times out is rerun up to twice on the same bytes (the 2 s limit is wall-clock, and a shared
// machine's neighbours can take it); it stays a finding only if every run times out. The retries are counted.
if (args.Length > 0 && args[0] == "replay")
{
    args = args[1..];
    var (fixture, entry, targets) = Readers().Single(r => $"{r.Fixture}/{r.Entry}".Contains(args[2], StringComparison.Ordinal));
    foreach (var (c, elapsed) in FuzzHarness.Replay(Path.Combine(args[0], fixture), entry, targets, int.Parse(args[1]), int.Parse(args[3]), args.Length > 4 ? int.Parse(args[4]) : 3))
        Console.WriteLine($"{c.File} [{c.Mutation}] {c.Outcome} in {elapsed.TotalSeconds:F3} s {c.Detail.Split('\n')[0]}");
    return;
}
var fixtures = args.Length > 0 ? args[0] : Path.Combine("tests", "fixtures");
int count = args.Length > 1 ? int.Parse(args[1]) : 100_000;
int seed = args.Length > 2 ? int.Parse(args[2]) : 1;
string filter = args.Length > 3 ? args[3] : "";
const int TimeoutRetries = 2;
var readers = Readers().Where(r => $"{r.Fixture}/{r.Entry}".Contains(filter, StringComparison.Ordinal)).ToArray();
var results = new Dictionary<string, object>();
var clock = Stopwatch.StartNew();
Parallel.ForEach(readers, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, r =>
{
    var sw = Stopwatch.StartNew();
    int retried = 0, done = 0, bad = 0;
    var cases = FuzzHarness.Campaign(Path.Combine(fixtures, r.Fixture), r.Entry, r.Targets, count, seed, timeoutRetries: TimeoutRetries,
        observe: (i, c, retries) =>
        {
            done++;
            if (retries > 0) retried++;
            if (c.Outcome is not (FuzzOutcome.Loaded or FuzzOutcome.Refused))
            {
                bad++;
                Console.Error.WriteLine($"{r.Fixture}/{r.Entry} finding at {i}: {c.File} [{c.Mutation}] {c.Outcome}: {c.Detail.Split('\n')[0]}");
            }
            if (done % 1000 == 0)
                Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {r.Fixture}/{r.Entry}: {done} mutations, {bad} findings, {retried} timeout retries, {sw.Elapsed.TotalSeconds:F0} s");
        });
    var findings = cases.Where(c => c.Outcome is not (FuzzOutcome.Loaded or FuzzOutcome.Refused)).ToList();
    var summary = new Dictionary<string, object>
    {
        ["mutations"] = cases.Count,
        ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 1),
        ["mutationsRetriedAfterTimeout"] = retried,
        ["outcomes"] = cases.GroupBy(c => c.Outcome.ToString()).ToDictionary(g => g.Key, g => g.Count()),
        ["refusedBy"] = cases.Where(c => c.Outcome == FuzzOutcome.Refused).GroupBy(c => c.Detail).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count()),
        ["findings"] = findings.Take(10).Select(f => $"{f.File} [{f.Mutation}] {f.Outcome}: {f.Detail.Split('\n')[0]}").ToArray(),
    };
    lock (results) results[$"{r.Fixture}/{r.Entry}"] = summary;
    Console.Error.WriteLine($"{r.Fixture}/{r.Entry}: {cases.Count} in {sw.Elapsed.TotalSeconds:F0} s, {findings.Count} findings");
});
Console.WriteLine(JsonSerializer.Serialize(new { seed, perReader = count, timeoutRetries = TimeoutRetries, processors = Environment.ProcessorCount, seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), readers = results },
    new JsonSerializerOptions { WriteIndented = true }));

static (string Fixture, string Entry, string[] Targets)[] Readers() =>
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
