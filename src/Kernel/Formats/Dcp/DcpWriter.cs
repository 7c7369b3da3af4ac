using Ckpt.Formats.TorchSave;
using Ckpt.Monitoring;
using Ckpt.Planning;

namespace Ckpt.Formats.Dcp;

/// <summary>
/// Writes a PyTorch Distributed Checkpoint folder the way `FileSystemWriter` does (formats.md §1.1-1.3): one
/// `__{rank}_0.distcp` per writing rank holding each chunk as a complete torch.save zip of the local tensor and
/// each bytes item as its torch.save bytes, then `.metadata` last (temp file, fsync, rename), so a folder with a
/// `.metadata` is complete. Chunks must tile each tensor (in bounds, no overlap, full volume), as DCP's
/// `_validate_global_plan` requires. Ranks are written in parallel; within a rank one chunk is in memory at a time.
/// </summary>
public static class DcpWriter
{
    public const string MetadataFileName = ".metadata";

    public static string DataFileName(int rank) => $"__{rank}_0.distcp";

    public static DcpWriteResult Write(string directory, IReadOnlyList<DcpTensorWrite> tensors, IReadOnlyList<DcpBytesWrite>? bytesItems = null,
        IReadOnlyDictionary<string, IReadOnlyList<object>>? plannerData = null, int parallelism = 0,
        OperationTimeline? timeline = null, CancellationToken cancellationToken = default)
    {
        bytesItems ??= [];
        var written = WriteData(directory, tensors, bytesItems, null, parallelism, timeline, cancellationToken);
        var metadataPath = WriteMetadata(directory, tensors, bytesItems, written.SelectMany(w => w.Items).ToArray(), plannerData, timeline);
        var files = written.Select(w => Path.Combine(directory, w.File)).Append(metadataPath).ToArray();
        return new DcpWriteResult(directory, files, files.Sum(f => new FileInfo(f).Length), written.Sum(w => w.Items.Count(s => s.Offsets is not null)));
    }

    /// <summary>
    /// Writes the data files of the ranks <paramref name="writes"/> accepts (every rank when null) and returns what each
    /// holds, in rank order; no `.metadata`. Per-rank work on a cluster (Cluster/PartWriter) writes a share of the ranks
    /// per process and <see cref="WriteMetadata"/> once every share exists.
    /// </summary>
    public static IReadOnlyList<DcpRankFile> WriteData(string directory, IReadOnlyList<DcpTensorWrite> tensors, IReadOnlyList<DcpBytesWrite> bytesItems,
        Func<int, bool>? writes, int parallelism = 0, OperationTimeline? timeline = null, CancellationToken cancellationToken = default)
    {
        var jobs = Jobs(tensors, bytesItems);
        Directory.CreateDirectory(directory);
        // Data files of an earlier save (a larger world size) would linger beside ours; never delete them, refuse
        // (the verbs write into a fresh staging folder, see Outputs.OutputFolder).
        if (File.Exists(Path.Combine(directory, MetadataFileName)) || Directory.EnumerateFiles(directory, "__*_*.distcp").Any())
            throw new IOException($"{directory} already holds a DCP checkpoint; write into a new folder");

        var ranks = jobs.Keys.Where(r => writes?.Invoke(r) ?? true).ToArray();
        var stored = new List<DcpStoredItem>[ranks.Length];
        var options = new ParallelOptions
        {
            MaxDegreeOfParallelism = parallelism > 0 ? parallelism : Math.Max(1, Environment.ProcessorCount),
            CancellationToken = cancellationToken,
        };
        Parallel.For(0, ranks.Length, options, i => stored[i] = WriteRank(directory, ranks[i], jobs[ranks[i]], timeline, cancellationToken));
        return ranks.Select((r, i) => new DcpRankFile(r, DataFileName(r), stored[i])).ToArray();
    }

    /// <summary>The ranks that write a data file (those holding a chunk or a bytes item), ascending.</summary>
    public static IReadOnlyList<int> WritingRanks(IReadOnlyList<DcpTensorWrite> tensors, IReadOnlyList<DcpBytesWrite> bytesItems) =>
        Jobs(tensors, bytesItems).Keys.ToArray();

    /// <summary>Writes `.metadata` (temp file, fsync, rename) for data files already in <paramref name="directory"/>; returns its path.</summary>
    public static string WriteMetadata(string directory, IReadOnlyList<DcpTensorWrite> tensors, IReadOnlyList<DcpBytesWrite> bytesItems,
        IReadOnlyList<DcpStoredItem> stored, IReadOnlyDictionary<string, IReadOnlyList<object>>? plannerData, OperationTimeline? timeline = null)
    {
        var metadataPath = Path.Combine(directory, MetadataFileName);
        var start = timeline?.Now;
        var pickle = DcpMetadataWriter.Pickle(tensors, bytesItems, stored, plannerData);
        var tmp = metadataPath + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(pickle);
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, metadataPath);
        timeline?.Record("metadata", MetadataFileName, start!.Value, pickle.Length);
        return metadataPath;
    }

    /// <summary>Per rank, in state-dict order: tensor chunks, then bytes items.</summary>
    static SortedDictionary<int, List<(string Fqn, DcpChunkWrite? Chunk, byte[]? Bytes)>> Jobs(IReadOnlyList<DcpTensorWrite> tensors, IReadOnlyList<DcpBytesWrite> bytesItems)
    {
        foreach (var t in tensors) Validate(t);
        var duplicate = tensors.Select(t => t.Fqn).Concat(bytesItems.Select(b => b.Fqn)).GroupBy(f => f).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"'{duplicate.Key}' is written twice");
        var jobs = new SortedDictionary<int, List<(string Fqn, DcpChunkWrite? Chunk, byte[]? Bytes)>>();
        foreach (var t in tensors)
        {
            var listed = DcpMetadataWriter.Chunks(t);
            foreach (var c in t.Chunks.Where(c => listed.Contains(c.Box)))
                Add(c.Rank, (t.Fqn, c, null));
        }
        foreach (var b in bytesItems) Add(b.Rank, (b.Fqn, null, b.Payload));
        return jobs;

        void Add(int rank, (string, DcpChunkWrite?, byte[]?) job)
        {
            if (rank < 0) throw new ArgumentException($"rank {rank} for '{job.Item1}'");
            if (!jobs.TryGetValue(rank, out var list)) jobs[rank] = list = [];
            list.Add(job);
        }
    }

    static List<DcpStoredItem> WriteRank(string directory, int rank, List<(string Fqn, DcpChunkWrite? Chunk, byte[]? Bytes)> jobs,
        OperationTimeline? timeline, CancellationToken ct)
    {
        var name = DataFileName(rank);
        var result = new List<DcpStoredItem>(jobs.Count);
        using var stream = new FileStream(Path.Combine(directory, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        foreach (var (fqn, chunk, bytes) in jobs)
        {
            ct.ThrowIfCancellationRequested();
            long offset = stream.Position;
            if (chunk is not null)
            {
                var start = timeline?.Now;
                using var data = chunk.Load();
                if (!data.Shape.SequenceEqual(chunk.Box.Lengths))
                    throw new InvalidOperationException($"chunk {chunk.Box} of '{fqn}' loaded with shape {Shapes.Format(data.Shape)}");
                var loaded = timeline?.Now;
                TorchSaveWriter.WriteTensor(stream, data);
                if (timeline is not null)
                {
                    timeline.Record("load", fqn, start!.Value, data.ByteLength);
                    timeline.Record("write", name, loaded!.Value, stream.Position - offset);
                }
                result.Add(new DcpStoredItem(fqn, chunk.Box.Offsets, name, offset, stream.Position - offset));
            }
            else
            {
                stream.Write(bytes);
                result.Add(new DcpStoredItem(fqn, null, name, offset, bytes!.Length));
            }
        }
        stream.Flush(flushToDisk: true);
        return result;
    }

    static void Validate(DcpTensorWrite t)
    {
        var whole = Box.Whole(t.Shape);
        long volume = 0;
        var boxes = t.Chunks.Select(c => c.Box).Where(b => b.ElementCount > 0).ToArray();
        foreach (var b in boxes)
        {
            if (b.Rank != t.Shape.Count || !whole.Contains(b))
                throw new ArgumentException($"'{t.Fqn}': chunk {b} is outside shape {Shapes.Format(t.Shape)}");
            volume += b.ElementCount;
        }
        for (int i = 0; i < boxes.Length; i++)
            for (int j = i + 1; j < boxes.Length; j++)
                if (boxes[i].Intersect(boxes[j]) is not null)
                    throw new ArgumentException($"'{t.Fqn}': chunks {boxes[i]} and {boxes[j]} overlap");
        if (volume != Shapes.ElementCount(t.Shape))
            throw new ArgumentException($"'{t.Fqn}': chunks cover {volume} of {Shapes.ElementCount(t.Shape)} elements");
        if (t.Chunks.Count == 0)
            throw new ArgumentException($"'{t.Fqn}' has no chunk");
    }
}
