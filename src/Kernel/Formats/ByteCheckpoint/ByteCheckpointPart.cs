using Ckpt.Formats.Dcp;
using Ckpt.Pickle;

namespace Ckpt.Formats.ByteCheckpoint;

/// <summary>
/// One ByteCheckpoint part folder (`model/`, `optimizer/`) as saved: its `.metadata`, one tensor per state-dict key with
/// a fragment per chunk (chunk box, the item's raw byte range, strides and storage offset from the chunk's pickle in
/// `all_tensor_metadata`), and bytes items as objects. Chunk boxes are checked by the caller, which knows which keys
/// are FSDP flat parameters.
/// </summary>
internal sealed record ByteCheckpointPart(string MetadataFile, DcpMetadata Meta, IReadOnlyList<TensorEntry> Tensors,
    IReadOnlyList<ObjectEntry> Objects, IReadOnlyDictionary<string, long> DataFiles)
{
    /// <summary>The tensor pickles ByteCheckpoint writes are a few hundred bytes; anything far larger is refused.</summary>
    const int MaxHeaderBytes = 1 << 20;

    public static ByteCheckpointPart Read(ICheckpointStorage storage, string folder, CancellationToken ct)
    {
        var metadataFile = folder.Length == 0 ? DcpFormat.MetadataFileName : $"{folder}/{DcpFormat.MetadataFileName}";
        var meta = DcpMetadataReader.Read(storage, metadataFile);

        var byKey = new Dictionary<string, DcpStorageEntry>(StringComparer.Ordinal);
        foreach (var s in meta.StorageData)
            if (!byKey.TryAdd(s.Key, s))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, s.Fqn, "storage_data lists one item twice");
        var headers = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (meta.Extra.GetValueOrDefault("all_tensor_metadata") is PyDict all)
            foreach (var (k, v) in all)
            {
                var (fqn, offset) = DcpMetadataReader.MetadataIndexKey(metadataFile, k);
                if (v is byte[] bytes) headers[DcpStorageEntry.KeyOf(fqn, offset)] = bytes;
            }
        else if (meta.StateDict.Any(kv => kv.Value is DcpTensorItem))
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, null,
                "the Metadata has no all_tensor_metadata dict, so its raw tensor items cannot be interpreted");

        var files = new DcpDataFiles(storage, metadataFile, folder);
        var tensors = new List<TensorEntry>();
        var objects = new List<ObjectEntry>();
        foreach (var (fqn, item) in meta.StateDict)
        {
            ct.ThrowIfCancellationRequested();
            switch (item)
            {
                case DcpTensorItem t:
                    var fragments = new List<Fragment>(t.Chunks.Count);
                    foreach (var chunk in t.Chunks)
                    {
                        var key = DcpStorageEntry.KeyOf(fqn, chunk.Offsets);
                        var s = byKey.GetValueOrDefault(key) ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, fqn,
                            $"storage_data has no entry for the chunk at offset {Shapes.Format(chunk.Offsets)}");
                        var file = files.Check(fqn, s.Info);
                        var header = headers.GetValueOrDefault(key) ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, fqn,
                            $"all_tensor_metadata has no tensor pickle for the chunk at offset {Shapes.Format(chunk.Offsets)}");
                        fragments.Add(Fragment(metadataFile, file, fqn, t, chunk, s.Info, header));
                    }
                    tensors.Add(new TensorEntry(fqn, t.DType, t.Shape, fragments));
                    break;
                case DcpBytesItem:
                    var entry = byKey.GetValueOrDefault(fqn) ?? meta.StorageData.FirstOrDefault(x => x.Fqn == fqn)
                        ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, fqn, "storage_data has no entry for this bytes item");
                    objects.Add(DcpObjectValue.Read(storage, files.Check(fqn, entry.Info), fqn, entry.Info));
                    break;
            }
        }
        return new ByteCheckpointPart(metadataFile, meta, tensors, objects, files.All);
    }

    /// <summary>The chunk's bytes with the layout its pickled tensor gives (ByteCheckpoint `_serialize_tensor`: one storage per item).</summary>
    static Fragment Fragment(string metadataFile, string file, string fqn, DcpTensorItem tensor, DcpChunk chunk, DcpStorageInfo info, byte[] header)
    {
        if (header.Length > MaxHeaderBytes)
            throw new CheckpointFormatException(FormatErrorReason.HeaderTooLarge, metadataFile, fqn,
                $"the chunk's tensor pickle has {header.Length} bytes", expected: $"≤ {MaxHeaderBytes} bytes", found: $"{header.Length} bytes");
        object? root;
        try { root = Unpickler.Load(header, metadataFile, new PickleOptions { PersistentLoad = TorchStorage.FromPersistentId }); }
        catch (CheckpointFormatException e) when (e.Tensor is null)
        {
            throw new CheckpointFormatException(e.Reason, metadataFile, fqn, $"its chunk's tensor pickle is unreadable: {e.Message.TrimEnd('.')}", e.Expected, e.Found, e);
        }
        var at = Shapes.Format(chunk.Offsets);
        if (root is not TorchTensor t)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, fqn,
                $"the tensor pickle of the chunk at {at} holds {DcpObjectValue.KindOf(root)}, not a tensor");
        if (t.Storage.DType != tensor.DType)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, fqn,
                $"the chunk at {at} is pickled as {t.Storage.ClassName} but state_dict_metadata says {tensor.DType.TorchName()}",
                expected: tensor.DType.TorchName(), found: t.Storage.ClassName);
        if (!t.Shape.SequenceEqual(chunk.Sizes))
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, fqn,
                $"the chunk at {at} is pickled with shape {Shapes.Format(t.Shape)}", expected: Shapes.Format(chunk.Sizes), found: Shapes.Format(t.Shape));
        if (t.Storage.ByteCount != info.Length)
            throw new CheckpointFormatException(FormatErrorReason.ByteLengthMismatch, file, fqn,
                $"the chunk at {at} has a storage of {t.Storage.ElementCount} {t.Storage.DType} elements but {info.Length} bytes in the file",
                expected: $"{t.Storage.ByteCount} bytes", found: $"{info.Length} bytes");
        return new Fragment(chunk.Offsets, chunk.Sizes, new Payload(file, info.Offset, info.Length), t.Strides, t.StorageOffset, DcpStoragePath.WriterRank(file));
    }
}
