using System.Diagnostics;
using Ckpt.Formats.Safetensors;
using Ckpt.Planning;

namespace Ckpt.Merging;

/// <summary>
/// Runs a merge streaming, tensor at a time (<see cref="MergeSession"/>): the spec and every input's manifest
/// are checked first, then each merged tensor is produced, written and released. Peak memory is one output
/// tensor plus a few chunks, whatever the model size or number of inputs. Inputs open through
/// <see cref="Checkpoint.Open(string, CancellationToken)"/>, so any format the project reads can be merged.
/// </summary>
public static class MergeExecutor
{
    /// <summary>
    /// 4 M elements: 16 MB of float32 per input per chunk. Measured on 3 × 0.36 GB bf16 models: 4 M gave a
    /// 304 MB peak RSS, 8 M 427-499 MB, 16 M 581-661 MB, at the same speed (bench/RESULTS-merge.md).
    /// </summary>
    public const long DefaultChunkElements = 4L << 20;
    /// <summary>The shard size `save_pretrained` uses by default.</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;
    public const string LogFileName = "merge_log.json";

    /// <summary>Merges into <paramref name="sink"/>, one tensor at a time in the reference input's order.</summary>
    public static MergeReport Run(MergeSpec spec, ITensorSink sink, long chunkElements = DefaultChunkElements,
        string? configSource = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        using var session = MergeSession.Open(spec, chunkElements, configSource);
        return Run(session, sink, clock, null, cancellationToken);
    }

    /// <summary>Merges an opened session into <paramref name="sink"/> (its inputs read ahead where they live in an object store).</summary>
    internal static MergeReport Run(MergeSession session, ITensorSink sink, Stopwatch clock, Planning.ReadAheadMeter? meter,
        CancellationToken cancellationToken)
    {
        session.ReadAhead(session.Tensors, cancellationToken, meter);
        long written = 0;
        foreach (var t in session.Tensors)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var data = t.Load();
            sink.Write(data);
            written += data.ByteLength;
        }
        sink.Complete(Metadata(session.Spec));
        return Report(session, written, clock.Elapsed.TotalSeconds, null);
    }

    /// <summary>
    /// Merges into <paramref name="directory"/> as Hugging Face style safetensors (`model.safetensors`, or shards
    /// of at most <paramref name="maxShardBytes"/> plus `model.safetensors.index.json`) and writes `merge_log.json`.
    /// The folder is staged and moved into place when complete (<see cref="Outputs.OutputFolder"/>); it may not overlap an input.
    /// </summary>
    public static MergeReport RunToDirectory(MergeSpec spec, string directory, long maxShardBytes = DefaultMaxShardBytes,
        long chunkElements = DefaultChunkElements, string? configSource = null, CancellationToken cancellationToken = default,
        bool overwrite = false, IProgress<Monitoring.ByteProgress>? progress = null)
    {
        using var output = Outputs.OutputFolder.Begin(directory, Inputs(spec).Append(configSource), overwrite);
        var report = RunToStaging(spec, output.Staging, maxShardBytes, chunkElements, configSource, cancellationToken, progress);
        output.Commit();
        return report;
    }

    /// <summary>The checkpoints a merge reads: every model and the base.</summary>
    internal static IEnumerable<string?> Inputs(MergeSpec spec) => spec.Models.Select(m => (string?)m.Path).Append(spec.BaseModel);

    /// <summary>Merges into a folder the caller has staged (lcsc adds its log and config before committing).</summary>
    internal static MergeReport RunToStaging(MergeSpec spec, string directory, long maxShardBytes, long chunkElements, string? configSource,
        CancellationToken cancellationToken, IProgress<Monitoring.ByteProgress>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        using var session = MergeSession.Open(spec, chunkElements, configSource);
        var timeline = progress is null ? null
            : new Monitoring.OperationTimeline("merge") { Progress = progress, ExpectedBytes = session.Tensors.Sum(t => t.ByteCount) };
        // The order the sharded writer pulls the tensors: shard by shard, each sorted as safetensors writes it.
        session.ReadAhead(ShardedSafetensorsWriter.Split(session.Tensors, maxShardBytes).SelectMany(SafetensorsWriter.Order), cancellationToken);
        var result = ShardedSafetensorsWriter.Write(directory, session.Tensors, maxShardBytes, Metadata(spec), timeline: timeline,
            cancellationToken: cancellationToken);
        var report = Report(session, result.TotalBytes, clock.Elapsed.TotalSeconds,
            result.Files.Select(f => Path.GetFileName(f)).ToArray());
        File.WriteAllText(Path.Combine(directory, LogFileName), report.ToJson());
        return report;
    }

    static Dictionary<string, string> Metadata(MergeSpec spec) => new()
    {
        ["format"] = "pt",
        ["merge_method"] = spec.Method.Name,
    };

    static MergeReport Report(MergeSession session, long written, double seconds, IReadOnlyList<string>? files)
    {
        var spec = session.Spec;
        return new MergeReport
        {
            Method = spec.Method.Name,
            Models = spec.Models,
            BaseModel = spec.Method.NeedsBase ? spec.BaseModel : null,
            Parameters = Parameters(spec),
            Tensors = session.Tensors.Count,
            Elements = session.Tensors.Sum(t => Shapes.ElementCount(t.Shape)),
            InputBytes = session.InputBytes,
            BytesRead = session.BytesRead,
            BytesWritten = written,
            Seconds = seconds,
            Files = files,
            ColinearFallbacks = session.ColinearFallbacks.ToArray(),
            Copied = session.Copied.ToArray(),
        };
    }

    static Dictionary<string, object?> Parameters(MergeSpec spec)
    {
        var p = spec.Method.Parameters.ToDictionary(key => key, spec.ParameterValue);
        p["weights"] = spec.Weights;
        p["dtype"] = spec.OutputDType?.ToString();
        return p;
    }

    internal readonly record struct Chunk(Box? Box, long Offset, int Length);

    /// <summary>Whole tensor when it fits, else runs of whole rows along dim 0 (read as boxes).</summary>
    internal static IEnumerable<Chunk> Chunks(IReadOnlyList<long> shape, long chunkElements)
    {
        long n = Shapes.ElementCount(shape);
        if (n == 0) yield break;
        if (n <= chunkElements || shape.Count == 0) { yield return new Chunk(null, 0, checked((int)n)); yield break; }
        long rowElements = n / shape[0];
        long rows = Math.Max(1, chunkElements / rowElements);
        for (long r = 0; r < shape[0]; r += rows)
        {
            long len = Math.Min(rows, shape[0] - r);
            var offsets = new long[shape.Count];
            offsets[0] = r;
            var lengths = shape.ToArray();
            lengths[0] = len;
            yield return new Chunk(new Box(offsets, lengths), r * rowElements, checked((int)(len * rowElements)));
        }
    }
}
