using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Ckpt.Monitoring;

/// <summary>
/// Per-phase timings and byte counts of one load/save/convert, recorded by every worker thread, for
/// timeline charts and benchmarks (ByteCheckpoint's monitoring idea).
/// </summary>
public sealed class OperationTimeline
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly ConcurrentQueue<TimelineEvent> _events = new();

    long _written;

    public OperationTimeline(string operation) { Operation = operation; }

    /// <summary>
    /// Told the running total of "write" bytes as each is recorded, out of <see cref="ExpectedBytes"/>: the one place
    /// every writer (safetensors, DCP, torch.save) already reports to, so a progress bar needs no writer of its own.
    /// </summary>
    public IProgress<ByteProgress>? Progress { get; init; }

    /// <summary>The bytes the operation will write, for <see cref="Progress"/>; set once the plan knows them.</summary>
    public long ExpectedBytes { get; set; }

    public string Operation { get; }
    public TimeSpan Now => _clock.Elapsed;
    public IReadOnlyList<TimelineEvent> Events => _events.OrderBy(e => e.Start).ToArray();

    public void Record(string phase, string subject, TimeSpan start, long bytes)
    {
        _events.Enqueue(new TimelineEvent(phase, subject, Environment.CurrentManagedThreadId, start, _clock.Elapsed, bytes));
        if (Progress is not null && phase == "write")
            Progress.Report(new ByteProgress(Operation, Interlocked.Add(ref _written, bytes), ExpectedBytes));
    }

    /// <summary>Total seconds and bytes per phase.</summary>
    public IReadOnlyDictionary<string, (double Seconds, long Bytes)> Phases =>
        _events.GroupBy(e => e.Phase).ToDictionary(g => g.Key,
            g => (g.Sum(e => (e.End - e.Start).TotalSeconds), g.Sum(e => e.Bytes)));

    /// <summary>The `phases` object of a `--json` report (docs/json.md): per phase, in the order given, its seconds and bytes.</summary>
    public static JsonObject PhasesJson(IEnumerable<KeyValuePair<string, (double Seconds, long Bytes)>> phases) =>
        new(phases.Select(kv => KeyValuePair.Create(kv.Key,
            (JsonNode?)new JsonObject { ["seconds"] = kv.Value.Seconds, ["bytes"] = kv.Value.Bytes })));
}

public sealed record TimelineEvent(string Phase, string Subject, int Worker, TimeSpan Start, TimeSpan End, long Bytes);
