using Ckpt.Errors;
using Ckpt.Storage;

namespace Ckpt.Tests.Fuzzing;

public enum FuzzOutcome { Loaded, Refused, Crashed, TimedOut, TooMuchMemory }

public sealed record FuzzCase(string File, string Mutation, FuzzOutcome Outcome, string Detail);

/// <summary>
/// Opens a (mutated) in-memory checkpoint and reads every tensor. Anything but a clean load or a
/// <see cref="CheckpointFormatException"/> is a finding, as is taking more than the <see cref="FuzzBudget"/> or allocating
/// more than a small multiple of the input size.
/// </summary>
public static class FuzzHarness
{
    public static FuzzCase Run(IReadOnlyDictionary<string, byte[]> files, string entry, string mutatedFile, string mutation, FuzzBudget? budget = null)
    {
        var limit = budget ?? FuzzBudget.UnderLoad;
        long inputBytes = files.Values.Sum(f => (long)f.Length);
        long memoryBudget = 32 * inputBytes + (32L << 20);
        var cpu = TimeSpan.Zero;
        var task = Task.Run(() =>
        {
            var started = FuzzBudget.ThreadCpuTime();
            try
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                var storage = new MemoryStorage(files);
                using var ckpt = Checkpoint.Open(storage, entry);
                foreach (var t in ckpt.Manifest.Tensors)
                {
                    if (t.ByteCount > memoryBudget) return (FuzzOutcome.TooMuchMemory, $"tensor '{t.Name}' of {t.ByteCount} bytes from {inputBytes} input bytes");
                    using var data = ckpt.Read(t.Name);
                }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                return allocated > memoryBudget ? (FuzzOutcome.TooMuchMemory, $"{allocated} bytes allocated for {inputBytes} input bytes") : (FuzzOutcome.Loaded, "");
            }
            finally { cpu = FuzzBudget.ThreadCpuTime() - started; }
        });
        try
        {
            if (!task.Wait(limit.Wall)) return new(mutatedFile, mutation, FuzzOutcome.TimedOut, $"over {limit.Wall.TotalSeconds} s");
            if (cpu > limit.Cpu) return OverCpu(mutatedFile, mutation, cpu, limit);
            var (outcome, detail) = task.Result;
            return new(mutatedFile, mutation, outcome, detail);
        }
        catch (AggregateException a) when (a.InnerException is CheckpointFormatException f)
        {
            if (cpu > limit.Cpu) return OverCpu(mutatedFile, mutation, cpu, limit);
            return new(mutatedFile, mutation, FuzzOutcome.Refused, mutation == "none" ? f.Message : f.Reason.ToString());
        }
        catch (AggregateException a)
        {
            var e = a.InnerException!;
            return new(mutatedFile, mutation, FuzzOutcome.Crashed, $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}");
        }
    }

    static FuzzCase OverCpu(string file, string mutation, TimeSpan cpu, FuzzBudget limit) =>
        new(file, mutation, FuzzOutcome.TimedOut, $"{cpu.TotalSeconds:F2} s of CPU, over {limit.Cpu.TotalSeconds} s");

    /// <summary>
    /// Mutates one file of the checkpoint at a time, <paramref name="count"/> times, with a fixed seed.
    /// <paramref name="timeoutRetries"/> reruns a timed-out mutation on the same bytes: under <see cref="FuzzBudget.WallClock"/>
    /// the limit also measures the neighbours, while a real hang times out on every try; <paramref name="observe"/>
    /// sees each case as it finishes, with the number of retries it took. With <paramref name="first"/>, only
    /// mutations first..count-1 run (a shard: the mutator still draws the ones before, so they are the same bytes).
    /// </summary>
    public static IReadOnlyList<FuzzCase> Campaign(string fixtureDirectory, string entry, IReadOnlyList<string> targets, int count, int seed,
        bool includeOriginal = false, int timeoutRetries = 2, Action<int, FuzzCase, int>? observe = null, int first = 0, FuzzBudget? budget = null)
    {
        var files = LoadFiles(fixtureDirectory);
        var mutator = new Mutator(seed);
        var results = new List<FuzzCase>(count + 1);
        if (includeOriginal) results.Add(Run(files, entry, "", "none", budget));
        for (int i = 0; i < count; i++)
        {
            var target = targets[i % targets.Count];
            var (bytes, description) = mutator.Mutate(files[target]);
            if (i < first) continue; // a shard of a campaign: the same mutations as the whole, from index `first`
            var mutated = new Dictionary<string, byte[]>(files, StringComparer.Ordinal) { [target] = bytes };
            var result = Run(mutated, entry, target, description, budget);
            int retries = 0;
            while (result.Outcome == FuzzOutcome.TimedOut && retries < timeoutRetries)
            {
                retries++;
                result = Run(mutated, entry, target, description, budget);
            }
            results.Add(result);
            observe?.Invoke(i, result, retries);
        }
        return results;
    }

    /// <summary>
    /// Rebuilds mutation <paramref name="index"/> of a campaign (same fixture, targets and seed) and runs it alone
    /// <paramref name="runs"/> times: tells a reader that is slow on those bytes from a machine that was busy.
    /// </summary>
    public static IReadOnlyList<(FuzzCase Case, TimeSpan Elapsed)> Replay(string fixtureDirectory, string entry, IReadOnlyList<string> targets, int seed, int index, int runs,
        FuzzBudget? budget = null)
    {
        var files = LoadFiles(fixtureDirectory);
        var mutator = new Mutator(seed);
        for (int i = 0; i < index; i++) mutator.Mutate(files[targets[i % targets.Count]]);
        var target = targets[index % targets.Count];
        var (bytes, description) = mutator.Mutate(files[target]);
        var mutated = new Dictionary<string, byte[]>(files, StringComparer.Ordinal) { [target] = bytes };
        return Enumerable.Range(0, runs).Select(_ =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var result = Run(mutated, entry, target, description, budget);
            return (result, clock.Elapsed);
        }).ToList();
    }

    static Dictionary<string, byte[]> LoadFiles(string fixtureDirectory)
    {
        var original = MemoryStorage.FromDirectory(fixtureDirectory);
        return original.List().Concat(Directory.EnumerateDirectories(fixtureDirectory).SelectMany(d => original.List(Path.GetFileName(d))))
            .ToDictionary(f => f, f => { var b = new byte[original.Length(f)]; original.Read(f, 0, b, IoCategory.Metadata); return b; }, StringComparer.Ordinal);
    }
}
