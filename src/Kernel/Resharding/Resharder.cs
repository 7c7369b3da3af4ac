using Ckpt.Conversion;
using Ckpt.Formats.Dcp;
using Ckpt.Formats.TorchSave;
using Ckpt.Monitoring;
using Ckpt.Planning;

namespace Ckpt.Resharding;

/// <summary>What `ckpt reshard` / `#!ckpt-reshard` is asked to do; <paramref name="Overwrite"/> lets the output replace a folder Ckpt wrote.</summary>
/// <paramref name="Share"/> makes this process write only the data files of its target ranks, as a part `ckpt finalize` commits.
public sealed record ReshardOptions(TargetLayout Layout, string OutputDirectory, IReadOnlyList<string>? Only = null, bool Overwrite = false,
    Cluster.WorkShare? Share = null);

/// <summary>One target rank: what loading its shards needs and reads, and what it wrote.</summary>
/// <param name="PhaseSeconds">Seconds this rank spent per phase: `plan` (its read plan), `load` (reading and decoding the
/// chunks it writes) and `write` (encoding them into its file).</param>
public sealed record RankReport(int Rank, int Tensors, long BytesNeeded, long BytesRead, int ReadCount, int ChunksWritten, long ChunkBytesWritten,
    IReadOnlyDictionary<string, double>? PhaseSeconds = null);

public sealed record ReshardResult(
    TargetLayout Layout,
    IReadOnlyList<RankReport> Ranks,
    DcpWriteResult Written,
    /// <summary>Tensor bytes read from the source during the write, from the storage counters.</summary>
    long SourceBytesRead,
    IReadOnlyList<string> WrittenObjects,
    IReadOnlyList<string> SkippedObjects,
    OperationTimeline Timeline);

/// <summary>
/// Rewrites a checkpoint as a DCP checkpoint for a target layout: rank r's file holds rank r's shards, each
/// read straight from the saved fragments it overlaps (no full tensor is materialised unless a rank holds it
/// whole). A box several ranks hold (replicated tensors) is written once, by the least-loaded holder, as DCP's
/// dedup and ByteCheckpoint's balanced dedup do.
/// </summary>
public static class Resharder
{
    public static ReshardResult Reshard(Checkpoint source, ReshardOptions options, CancellationToken cancellationToken = default,
        IProgress<ByteProgress>? progress = null)
    {
        // A part's output is checked once its index is planned (OutputParts.Begin), still before any tensor byte is read.
        using var output = options.Share is null ? Outputs.OutputFolder.Begin(options.OutputDirectory, [source.Path], options.Overwrite) : null;
        var layout = options.Layout;
        layout.RequireFits(source.Manifest, source.Path);
        var filter = new TensorFilter(options.Only ?? []);
        // The bytes to write are known once every chunk has its writer; the progress starts with the writes.
        var timeline = new OperationTimeline("reshard") { Progress = progress };

        var planStart = timeline.Now;
        var planSeconds = new double[layout.WorldSize];
        var plans = Enumerable.Range(0, layout.WorldSize).Select(r =>
        {
            var start = timeline.Now;
            var plan = ReshardPlanner.Plan(source.Manifest, layout, r, t => filter.Includes(t.Name), source.Storage.Tuning);
            planSeconds[r] = (timeline.Now - start).TotalSeconds;
            return plan;
        }).ToArray();
        timeline.Record("plan", layout.Description, planStart, 0);
        var loadTicks = new long[layout.WorldSize];

        var load = new long[layout.WorldSize];
        var chunks = new int[layout.WorldSize];
        var writes = new List<DcpTensorWrite>();
        var parallelism = Environment.ProcessorCount * 2;
        // DcpWriter writes Max(1, ProcessorCount) ranks at once; on an object store each reads its chunks ahead.
        using var ahead = ChunkReadAhead.Applies(source.Storage)
            ? new ChunkReadAhead(source.Storage, Environment.ProcessorCount, timeline, cancellationToken) : null;
        for (int i = 0; i < plans[0].Tensors.Count; i++)
        {
            var tensor = plans[0].Tensors[i].Tensor;
            var holders = new List<(Box Box, List<int> Ranks)>();
            for (int r = 0; r < layout.WorldSize; r++)
                foreach (var box in plans[r].Tensors[i].Shard.Boxes)
                {
                    var same = holders.FindIndex(h => h.Box.Offsets.SequenceEqual(box.Offsets) && h.Box.Lengths.SequenceEqual(box.Lengths));
                    if (same >= 0) holders[same].Ranks.Add(r); else holders.Add((box, [r]));
                }
            var nonEmpty = holders.Where(h => h.Box.ElementCount > 0).ToList();
            // An empty tensor still needs one (empty) chunk in the metadata.
            if (nonEmpty.Count == 0 && holders.Count > 0) nonEmpty.Add(holders[0]);
            var tensorChunks = new List<DcpChunkWrite>();
            foreach (var (box, holding) in nonEmpty)
            {
                int writer = holding.MinBy(r => load[r]);
                load[writer] += tensor.DType.ByteCount(box.ElementCount);
                chunks[writer]++;
                var t = tensor;
                var readChunk = ahead?.Add(writer, t, box) ?? (() => TensorReader.Read(source.Storage, t, box, parallelism, timeline, cancellationToken));
                tensorChunks.Add(new DcpChunkWrite(writer, box, () =>
                {
                    long start = System.Diagnostics.Stopwatch.GetTimestamp();
                    try { return readChunk(); }
                    finally { Interlocked.Add(ref loadTicks[writer], System.Diagnostics.Stopwatch.GetTimestamp() - start); }
                }));
            }
            writes.Add(new DcpTensorWrite(tensor.Name, tensor.DType, tensor.Shape, tensorChunks));
        }

        var (objects, written, skipped) = Objects(source.Manifest);
        long before = source.Storage.Statistics.TensorBytesRead;
        timeline.ExpectedBytes = load.Sum();
        DcpWriteResult result;
        if (options.Share is { } share)
        {
            var plannerData = PlannerData(source.Manifest);
            using var part = Outputs.OutputParts.Begin(options.OutputDirectory, [source.Path], options.Overwrite, "reshard", share.Rank, share.Ranks,
                Cluster.PartIndex.Dcp(writes, objects, plannerData));
            var files = DcpWriter.WriteData(part.Staging, writes, objects, share.Owns, 0, timeline, cancellationToken);
            long bytes = files.Sum(f => new FileInfo(Path.Combine(part.Staging, f.File)).Length);
            var paths = part.Commit(files.Select(f => f.File).ToArray(), Cluster.PartIndex.Stored(files));
            result = new DcpWriteResult(options.OutputDirectory, paths, bytes, files.Sum(f => f.Items.Count(i => i.Offsets is not null)));
            plans = plans.Where(p => share.Owns(p.Rank)).ToArray();
        }
        else
        {
            var staged = DcpWriter.Write(output!.Staging, writes, objects, PlannerData(source.Manifest), 0, timeline, cancellationToken);
            output.Commit();
            result = staged with { Directory = output.Target, Files = staged.Files.Select(output.Final).ToArray() };
        }
        long read = source.Storage.Statistics.TensorBytesRead - before;

        var writeSeconds = timeline.Events.Where(e => e.Phase == "write").GroupBy(e => e.Subject)
            .ToDictionary(g => g.Key, g => g.Sum(e => (e.End - e.Start).TotalSeconds));
        var ranks = plans.Select(p => new RankReport(p.Rank, p.HeldTensors, p.BytesNeeded, p.BytesRead,
            p.ReadCount, chunks[p.Rank], load[p.Rank], new Dictionary<string, double>
            {
                ["plan"] = planSeconds[p.Rank],
                ["load"] = (double)loadTicks[p.Rank] / System.Diagnostics.Stopwatch.Frequency,
                ["write"] = writeSeconds.GetValueOrDefault(DcpWriter.DataFileName(p.Rank)),
            })).ToArray();
        return new ReshardResult(layout, ranks, result, read, written, skipped, timeline);
    }

    /// <summary>
    /// Non-tensor values travel as DCP bytes items (torch.save of the value) when they are plain data; reader
    /// bookkeeping (`.metadata/…` entries) and values that cannot be re-pickled as plain data are skipped and reported.
    /// </summary>
    static (List<DcpBytesWrite> Items, List<string> Written, List<string> Skipped) Objects(CheckpointManifest manifest)
    {
        var items = new List<DcpBytesWrite>();
        var written = new List<string>();
        var skipped = new List<string>();
        foreach (var o in manifest.Objects)
        {
            if (o.Name.StartsWith(".metadata/", StringComparison.Ordinal)) continue;
            if (!Pickle.PickleWriter.CanWrite(o.Value)) { skipped.Add(o.Name); continue; }
            items.Add(new DcpBytesWrite(o.Name, 0, TorchSaveWriter.SaveObject(o.Value)));
            written.Add(o.Name);
        }
        return (items, written, skipped);
    }

    /// <summary>A DCP source's `planner_data` (FQN → original nested path), kept so nesting survives the rewrite.</summary>
    internal static IReadOnlyDictionary<string, IReadOnlyList<object>>? PlannerData(CheckpointManifest manifest)
    {
        if (manifest.Objects.FirstOrDefault(o => o.Name == DcpFormat.PlannerDataName)?.Value is not Pickle.PyDict dict) return null;
        var result = new Dictionary<string, IReadOnlyList<object>>(StringComparer.Ordinal);
        foreach (var (key, value) in dict)
            if (key is string fqn && value is IEnumerable<object?> path && path.All(p => p is string or long or int))
                result[fqn] = path.Select(p => p!).ToArray();
        return result;
    }
}
