namespace Ckpt.Formats.Dcp;

/// <summary>
/// The pickled `torch.distributed.checkpoint.metadata.Metadata` of a DCP folder, as plain records.
/// Fields missing from older writers are null; unknown extra attributes (Megatron's `mcore_data`) are kept
/// in <see cref="Extra"/> as inert values. <see cref="MetadataClass"/> is the pickled class (`torch.distributed._shard.checkpoint.metadata.Metadata`
/// before torch 2.0).
/// </summary>
internal sealed record DcpMetadata(
    IReadOnlyList<KeyValuePair<string, DcpItem>> StateDict,
    IReadOnlyDictionary<string, IReadOnlyList<object>>? PlannerData,
    IReadOnlyList<DcpStorageEntry> StorageData,
    DcpStorageMeta? StorageMeta,
    string? Version,
    IReadOnlyDictionary<string, object?> Extra,
    string MetadataClass);

/// <summary>One state-dict leaf: a tensor split into chunks, or an opaque torch.save'd Python object.</summary>
internal abstract record DcpItem;

/// <summary>`TensorStorageMetadata`: global dtype and shape, and the saved chunks (boxes of the global tensor).</summary>
internal sealed record DcpTensorItem(DType DType, IReadOnlyList<long> Shape, IReadOnlyList<DcpChunk> Chunks) : DcpItem;

/// <summary>`BytesStorageMetadata`: a non-tensor value saved with torch.save.</summary>
internal sealed record DcpBytesItem : DcpItem;

/// <summary>`ChunkStorageMetadata`: one saved box of a global tensor.</summary>
internal sealed record DcpChunk(IReadOnlyList<long> Offsets, IReadOnlyList<long> Sizes);

/// <summary>`MetadataIndex` (fqn, chunk offset or null for bytes items) → `_StorageInfo`.</summary>
internal sealed record DcpStorageEntry(string Fqn, IReadOnlyList<long>? Offset, long? Index, DcpStorageInfo Info)
{
    public string Key => KeyOf(Fqn, Offset);
    public static string KeyOf(string fqn, IReadOnlyList<long>? offset) =>
        offset is null ? fqn : fqn + "\0" + string.Join(",", offset);
}

/// <summary>`_StorageInfo`: where an item's bytes are, and the stream transforms (`stream.zstd/1`) applied to them.</summary>
internal sealed record DcpStorageInfo(string RelativePath, long Offset, long Length, IReadOnlyList<string>? Transforms = null);

/// <summary>`StorageMeta` (torch ≥ 2.4).</summary>
internal sealed record DcpStorageMeta(string? CheckpointId, string? SaveId, string? LoadId, IReadOnlyList<string> Modules);
