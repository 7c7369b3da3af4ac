using System.Diagnostics;
using System.Text.Json;
using Ckpt;
using Ckpt.Errors;

/// <summary>
/// `ckpt-fuzz corpus [tests/attacks]`: opens and reads every file of the hostile corpus once, one at a time, and
/// holds each to the issue's bound by the wall clock: refused with an allowed reason (or loaded where "load" is
/// allowed) within 2 s. The xunit corpus tests measure CPU time instead, so they hold on a loaded machine; this
/// is the wall-clock figure to report. Prints one line per file (seconds, managed bytes allocated, outcome).
/// </summary>
static class CorpusRun
{
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(2);

    public static int Run(string corpus)
    {
        var expected = JsonSerializer.Deserialize<Dictionary<string, string[]>>(File.ReadAllText(Path.Combine(corpus, "expected.json")))!;
        int misses = 0;
        foreach (var (key, allowed) in expected.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var dir = Path.GetDirectoryName(key)!;
            var target = dir.Contains('/') ? Path.Combine(corpus, dir) : Path.Combine(corpus, key);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            var task = Task.Run(() =>
            {
                using var ckpt = Checkpoint.Open(target);
                foreach (var t in ckpt.Manifest.Tensors) using (ckpt.Read(t.Name)) { }
            });
            string outcome;
            try { outcome = task.Wait(TimeSpan.FromSeconds(30)) ? "load" : "hang"; }
            catch (AggregateException a) { outcome = a.InnerException is CheckpointFormatException f ? f.Reason.ToString() : a.InnerException!.GetType().Name; }
            var elapsed = clock.Elapsed;
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            bool ok = allowed.Contains(outcome) && elapsed < Limit;
            if (!ok) misses++;
            Console.WriteLine($"{(ok ? "ok  " : "MISS")} {elapsed.TotalSeconds,6:F3} s {allocated / 1e6,8:F1} MB  {outcome,-22} {key}");
        }
        Console.WriteLine($"{expected.Count} files, {misses} over {Limit.TotalSeconds} s or with an unexpected outcome");
        return misses == 0 ? 0 : 1;
    }
}
