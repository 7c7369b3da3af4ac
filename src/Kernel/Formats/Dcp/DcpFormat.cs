namespace Ckpt.Formats.Dcp;

/// <summary>
/// PyTorch Distributed Checkpoint (torch 2.x FileSystemWriter): a folder with a pickled `.metadata` and
/// `__{rank}_{k}.distcp` data files in which every item is a complete torch.save zip at
/// [offset, offset+length). Describing reads `.metadata`, each tensor chunk's small `data.pkl` (to find its
/// storage member, strides and storage offset, so fragments are plain byte ranges) and the bytes items.
/// Invariants, each with its own reason:
/// <list type="number">
/// <item>the folder has `.metadata`, which DCP writes last, after every rank finished (Incomplete);</item>
/// <item>`.metadata` is a restricted pickle of a DCP `Metadata` (PickleInvalid, ForbiddenPickleGlobal, MetadataInvalid);</item>
/// <item>each tensor has a known dtype (UnknownDType) and a non-negative shape (InvalidShape);</item>
/// <item>each chunk lies inside the global shape (OffsetOutOfBounds), chunks do not overlap (OverlappingData)
///   and cover the tensor (ChunksDoNotCoverTensor);</item>
/// <item>every chunk and bytes item has a storage_data entry (MetadataInvalid);</item>
/// <item>relative_path stays inside the folder (PathEscapesCheckpoint) and names an existing file (MissingFile);</item>
/// <item>[offset, offset+length) lies inside that file (Truncated);</item>
/// <item>transforms are known (UnsupportedTransform: only `stream.zstd/1`);</item>
/// <item>an untransformed chunk payload is a torch.save zip (ZipInvalid) of one tensor of the chunk's dtype and
///   sizes (MetadataInvalid) whose storage member has the storage's size (ByteLengthMismatch) and holds every
///   element the strides reach (OffsetOutOfBounds); transformed payloads are checked the same way when read.</item>
/// </list>
/// </summary>
public sealed class DcpFormat : ICheckpointFormat
{
    public const string MetadataFileName = ".metadata";

    /// <summary>Bytes items larger than this are listed but not decoded when describing.</summary>
    public const long MaxDecodedObjectBytes = 16L * 1024 * 1024;

    public string Name => "dcp";
    public int Priority => 10;

    /// <summary>A folder with `.metadata`, the `.metadata` file itself, or a folder of `.distcp` files whose save never finished.</summary>
    public bool Matches(ICheckpointStorage storage, string entry) =>
        FindMetadata(storage, entry) is { } metadata ? !WrittenByByteCheckpoint(storage, metadata)
        : entry.Length == 0 && storage.List().Any(f => f.EndsWith(".distcp", StringComparison.Ordinal));

    /// <summary>
    /// ByteCheckpoint reuses the layout but pickles its own `meta_type.Metadata` and stores raw storage bytes
    /// instead of torch.save zips, so its folders belong to its own reader. The class name is the pickle's first string.
    /// </summary>
    static bool WrittenByByteCheckpoint(ICheckpointStorage storage, string metadataFile)
    {
        var head = new byte[(int)Math.Min(256, storage.Length(metadataFile))];
        storage.Read(metadataFile, 0, head, IoCategory.Metadata);
        return System.Text.Encoding.ASCII.GetString(head).Contains("bytecheckpoint", StringComparison.Ordinal);
    }

    static string? FindMetadata(ICheckpointStorage storage, string entry)
    {
        if (entry == MetadataFileName || entry.EndsWith("/" + MetadataFileName, StringComparison.Ordinal))
            return storage.Exists(entry) ? entry : null;
        var candidate = entry.Length == 0 ? MetadataFileName : entry.TrimEnd('/') + "/" + MetadataFileName;
        try { return storage.Exists(candidate) ? candidate : null; }
        catch (CheckpointFormatException) { return null; }
    }

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var metadataFile = FindMetadata(storage, entry)
            ?? throw new CheckpointFormatException(FormatErrorReason.Incomplete, entry.Length == 0 ? storage.Root : entry, null,
                "the folder has no .metadata, so the DCP save did not finish");
        var folder = metadataFile.Contains('/') ? metadataFile[..metadataFile.LastIndexOf('/')] : "";
        var meta = DcpMetadataReader.Read(storage, metadataFile);

        var byKey = new Dictionary<string, DcpStorageEntry>(StringComparer.Ordinal);
        var byFqn = new Dictionary<string, List<DcpStorageEntry>>(StringComparer.Ordinal);
        foreach (var s in meta.StorageData)
        {
            if (!byKey.TryAdd(s.Key, s))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, s.Fqn,
                    $"storage_data lists the item at offset {Offsets(s.Offset)} twice");
            if (!byFqn.TryGetValue(s.Fqn, out var list)) byFqn[s.Fqn] = list = [];
            list.Add(s);
        }

        var files = new DcpDataFiles(storage, metadataFile, folder);
        var tensors = new List<TensorEntry>();
        var objects = new List<ObjectEntry>();
        var chunks = new List<ChunkJob>();
        foreach (var (fqn, item) in meta.StateDict)
        {
            cancellationToken.ThrowIfCancellationRequested();
            switch (item)
            {
                case DcpTensorItem t:
                    DcpChunkValidation.Check(metadataFile, fqn, t);
                    var fragments = new Fragment[t.Chunks.Count];
                    for (int c = 0; c < t.Chunks.Count; c++)
                    {
                        var chunk = t.Chunks[c];
                        var s = byKey.GetValueOrDefault(DcpStorageEntry.KeyOf(fqn, chunk.Offsets))
                            ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, fqn,
                                $"storage_data has no entry for the chunk at offset {Offsets(chunk.Offsets)}");
                        chunks.Add(new ChunkJob(fragments, c, files.Check(fqn, s.Info), fqn, t, chunk, s.Info));
                    }
                    tensors.Add(new TensorEntry(fqn, t.DType, t.Shape, fragments));
                    break;
                case DcpBytesItem:
                    var entryFor = byKey.GetValueOrDefault(fqn)
                        ?? (byFqn.TryGetValue(fqn, out var candidates) && candidates.Count == 1 ? candidates[0] : null)
                        ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, fqn,
                            "storage_data has no entry for this bytes item");
                    var file = files.Check(fqn, entryFor.Info);
                    objects.Add(DcpObjectValue.Read(storage, file, fqn, entryFor.Info));
                    break;
            }
        }

        LocateChunks(storage, chunks, cancellationToken);

        if (meta.PlannerData is { Count: > 0 })
            objects.Add(new ObjectEntry(PlannerDataName, "dcp.planner_data", meta.PlannerData, metadataFile));
        foreach (var (key, value) in meta.Extra)
            objects.Add(new ObjectEntry($"{MetadataFileName}/{key}", "dcp.metadata", value, metadataFile));

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        metadata["dcp.metadata_class"] = meta.MetadataClass;
        if (meta.Version is not null) metadata["dcp.version"] = meta.Version;
        if (meta.StorageMeta?.SaveId is { } saveId) metadata["dcp.save_id"] = saveId;
        if (meta.StorageMeta?.CheckpointId is { } ckptId) metadata["dcp.checkpoint_id"] = ckptId;
        if (meta.StorageMeta?.Modules is { Count: > 0 } modules) metadata["dcp.modules"] = string.Join(",", modules);
        var framework = DcpFramework.Detect(storage, folder, meta, metadata);

        var storageFiles = new List<StorageFile> { new(metadataFile, storage.Length(metadataFile)) };
        storageFiles.AddRange(files.All.Select(f => new StorageFile(f.Key, f.Value)));
        return new CheckpointManifest
        {
            Format = Name,
            Framework = framework,
            Layout = DcpFramework.Layout(files.All.Keys, tensors),
            Metadata = metadata,
            Tensors = tensors,
            Objects = objects,
            Files = storageFiles,
        };
    }

    /// <summary>Name of the <see cref="ObjectEntry"/> holding `planner_data` (FQN → original nested path of str/int keys).</summary>
    public const string PlannerDataName = ".metadata/planner_data";

    /// <summary>Chunk archives read at once: each is a handful of small positional reads, so latency, not bandwidth, bounds describing.</summary>
    public const int DescribeParallelism = 8;

    sealed record ChunkJob(Fragment[] Into, int Index, string File, string Fqn, DcpTensorItem Tensor, DcpChunk Chunk, DcpStorageInfo Info);

    /// <summary>
    /// Reads every chunk's data.pkl in parallel. When several chunks are bad, the first in `.metadata` order is
    /// reported, so the message does not depend on thread timing.
    /// </summary>
    static void LocateChunks(ICheckpointStorage storage, List<ChunkJob> jobs, CancellationToken ct)
    {
        var errors = new Exception?[jobs.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = DescribeParallelism, CancellationToken = ct };
        Parallel.For(0, jobs.Count, options, (i, state) =>
        {
            var j = jobs[i];
            try { j.Into[j.Index] = DcpChunkPayload.Fragment(storage, j.File, j.Fqn, j.Tensor, j.Chunk, j.Info); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                errors[i] = e;
                state.Break(); // iterations before i still run, so the lowest failing index is found
            }
        });
        if (errors.FirstOrDefault(e => e is not null) is { } first)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
    }

    static string Offsets(IReadOnlyList<long>? offsets) => offsets is null ? "none" : Shapes.Format(offsets);
}
