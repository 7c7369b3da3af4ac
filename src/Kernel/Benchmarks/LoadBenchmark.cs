using System.Diagnostics;
using System.Text.Json.Nodes;
using Ckpt.Planning;

namespace Ckpt.Benchmarks;

/// <param name="Files">The files of the checkpoint read.</param>
public sealed record LoadBenchmarkResult(long Bytes, double Seconds, long PeakMemoryBytes, int Tensors, int Files, int Parallelism)
{
    public double GbPerSecond => Bytes / Seconds / 1e9;

    /// <summary>`ckpt bench load --json`'s document (docs/json.md).</summary>
    public JsonObject ToJson() => new()
    {
        ["bytes"] = Bytes,
        ["seconds"] = Seconds,
        ["gbPerSecond"] = GbPerSecond,
        ["peakMemoryBytes"] = PeakMemoryBytes,
        ["tensors"] = Tensors,
        ["files"] = Files,
        ["parallelism"] = Parallelism,
    };
}

/// <summary>
/// Materialises every tensor of a checkpoint once, a few tensors in flight at a time, and releases each
/// as soon as it is read: the load path a resharder or converter runs, without the writing.
/// </summary>
public static class LoadBenchmark
{
    public static LoadBenchmarkResult Run(Checkpoint checkpoint, int? parallelism = null, CancellationToken cancellationToken = default)
    {
        if (parallelism < 1) throw new ArgumentException($"--parallelism {parallelism} must be at least 1");
        int workers = parallelism ?? Math.Max(2, Environment.ProcessorCount);
        long bytes = 0;
        var clock = Stopwatch.StartNew();
        Parallel.ForEach(checkpoint.Manifest.Tensors.OrderByDescending(t => t.ByteCount),
            new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken },
            entry =>
            {
                using var data = TensorReader.Read(checkpoint.Storage, entry, null, 2, null, cancellationToken);
                Interlocked.Add(ref bytes, data.ByteLength);
            });
        clock.Stop();
        return new LoadBenchmarkResult(bytes, clock.Elapsed.TotalSeconds, PeakResidentBytes(), checkpoint.Manifest.Tensors.Count,
            checkpoint.Manifest.Files.Count, workers);
    }

    /// <summary>The process's peak resident set (VmHWM on Linux), else the peak working set.</summary>
    public static long PeakResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
