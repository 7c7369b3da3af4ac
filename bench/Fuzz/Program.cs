using System.Diagnostics;
using System.Text.Json;
using Ckpt.Tests.Fuzzing;

// The long fuzz campaign: N mutations per reader (default 100,000), readers in parallel, a JSON summary.
// Usage: ckpt-fuzz <fixtures dir> [mutations per reader] [seed] [reader filter, e.g. dcp-fsdp2] [--range first:end] [--out summary.json]
//        ckpt-fuzz corpus [tests/attacks]: every hostile corpus file once, each held to 2 s of wall clock
//        ckpt-fuzz replay <fixtures dir> <seed> <reader filter> <mutation index> [runs]: rerun one finding alone
// --range runs one shard of the campaign (the same mutations as the whole run, indices first..end-1), so shards in
// separate processes add up to it; --out rewrites the summary every 1,000 mutations, so a run stopped early still
// reports what it did. A mutation that times out is rerun up to twice on the same bytes (the 2 s limit is
// wall-clock, and a shared machine's neighbours can take it); it stays a finding only if every run times out.
if (args.Length > 0 && args[0] == "corpus")
{
    Environment.Exit(CorpusRun.Run(args.Length > 1 ? args[1] : Path.Combine("tests", "attacks")));
}
if (args.Length > 0 && args[0] == "replay")
{
    args = args[1..];
    var (fixture, entry, targets) = Readers().Single(r => $"{r.Fixture}/{r.Entry}".Contains(args[2], StringComparison.Ordinal));
    foreach (var (c, elapsed) in FuzzHarness.Replay(Path.Combine(args[0], fixture), entry, targets, int.Parse(args[1]), int.Parse(args[3]), args.Length > 4 ? int.Parse(args[4]) : 3,
        FuzzBudget.WallClock))
        Console.WriteLine($"{c.File} [{c.Mutation}] {c.Outcome} in {elapsed.TotalSeconds:F3} s {c.Detail.Split('\n')[0]}");
    return;
}
string? Named(string name)
{
    int i = Array.IndexOf(args, name);
    if (i < 0) return null;
    var value = args[i + 1];
    args = args.Take(i).Concat(args.Skip(i + 2)).ToArray();
    return value;
}
var range = Named("--range")?.Split(':').Select(int.Parse).ToArray();
var outPath = Named("--out");
var fixtures = args.Length > 0 ? args[0] : Path.Combine("tests", "fixtures");
int count = args.Length > 1 ? int.Parse(args[1]) : 100_000;
int seed = args.Length > 2 ? int.Parse(args[2]) : 1;
string filter = args.Length > 3 ? args[3] : "";
int first = range?[0] ?? 0, end = range?[1] ?? count;
const int TimeoutRetries = 2;
var readers = Readers().Where(r => $"{r.Fixture}/{r.Entry}".Contains(filter, StringComparison.Ordinal)).ToArray();
var tallies = readers.ToDictionary(r => $"{r.Fixture}/{r.Entry}", _ => new Tally());
var clock = Stopwatch.StartNew();

string Summary()
{
    lock (tallies)
        return JsonSerializer.Serialize(new
        {
            seed, perReader = count, first, end, timeoutRetries = TimeoutRetries, processors = Environment.ProcessorCount,
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
            readers = tallies.ToDictionary(kv => kv.Key, kv => kv.Value.ToJson()),
        }, new JsonSerializerOptions { WriteIndented = true });
}

Parallel.ForEach(readers, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, r =>
{
    var name = $"{r.Fixture}/{r.Entry}";
    var tally = tallies[name];
    FuzzHarness.Campaign(Path.Combine(fixtures, r.Fixture), r.Entry, r.Targets, end, seed, timeoutRetries: TimeoutRetries, first: first,
        budget: FuzzBudget.WallClock,
        observe: (i, c, retries) =>
        {
            lock (tallies) tally.Add(c, retries);
            if (c.Outcome is not (FuzzOutcome.Loaded or FuzzOutcome.Refused))
                Console.Error.WriteLine($"{name} finding at {i}: {c.File} [{c.Mutation}] {c.Outcome}: {c.Detail.Split('\n')[0]}");
            if (tally.Mutations % 1000 == 0)
            {
                Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {name}: {tally.Mutations} mutations ({first}..{i}), {tally.Findings.Count} findings, {tally.Retried} timeout retries, {tally.Clock.Elapsed.TotalSeconds:F0} s");
                if (outPath is not null) File.WriteAllText(outPath, Summary());
            }
        });
    Console.Error.WriteLine($"{name}: {tally.Mutations} in {tally.Clock.Elapsed.TotalSeconds:F0} s, {tally.Findings.Count} findings");
});
var summary = Summary();
if (outPath is not null) File.WriteAllText(outPath, summary);
Console.WriteLine(summary);

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

/// <summary>One reader's running counts: outcomes, refusals by reason, findings, timeout reruns.</summary>
sealed class Tally
{
    public readonly Stopwatch Clock = Stopwatch.StartNew();
    public int Mutations, Retried;
    public readonly Dictionary<string, int> Outcomes = [], RefusedBy = [];
    public readonly List<string> Findings = [];

    public void Add(FuzzCase c, int retries)
    {
        Mutations++;
        if (retries > 0) Retried++;
        Outcomes[c.Outcome.ToString()] = Outcomes.GetValueOrDefault(c.Outcome.ToString()) + 1;
        if (c.Outcome == FuzzOutcome.Refused) RefusedBy[c.Detail] = RefusedBy.GetValueOrDefault(c.Detail) + 1;
        if (c.Outcome is not (FuzzOutcome.Loaded or FuzzOutcome.Refused))
            Findings.Add($"{c.File} [{c.Mutation}] {c.Outcome}: {c.Detail.Split('\n')[0]}");
    }

    public object ToJson() => new Dictionary<string, object>
    {
        ["mutations"] = Mutations,
        ["seconds"] = Math.Round(Clock.Elapsed.TotalSeconds, 1),
        ["mutationsRetriedAfterTimeout"] = Retried,
        ["outcomes"] = Outcomes.OrderByDescending(kv => kv.Value).ToDictionary(),
        ["refusedBy"] = RefusedBy.OrderByDescending(kv => kv.Value).ToDictionary(),
        ["findings"] = Findings.Take(10).ToArray(),
    };
}
