using Ckpt.Errors;
using Ckpt.Formats.TorchSave;
using Ckpt.Manifest;
using Ckpt.Pickle;
using Ckpt.Storage;
using Ckpt.Tensors;

namespace Ckpt.Formats.Dcp;

/// <summary>
/// One saved chunk: a complete torch.save zip of the local tensor at [offset, offset+length) of a `.distcp`.
/// Its `data.pkl` (a few hundred bytes) gives the storage key, strides and storage offset; the zip directory
/// gives the absolute offset of `data/&lt;key&gt;`. The fragment then points straight at those bytes, so the
/// planner reads only what a slice needs. Transformed chunks cannot be located without decoding them, so their
/// fragment keeps the encoded range and <see cref="DcpPayloadDecoder"/> finds the strides at load time.
/// </summary>
internal static class DcpChunkPayload
{
    /// <summary>data.pkl of a single tensor is a few hundred bytes; anything far larger is not a DCP chunk.</summary>
    const long MaxPickleBytes = 16L * 1024 * 1024;

    public static Fragment Fragment(ICheckpointStorage storage, string file, string fqn, DcpTensorItem tensor, DcpChunk chunk, DcpStorageInfo info)
    {
        int? rank = DcpStoragePath.WriterRank(file);
        if (info.Transforms is { Count: > 0 } transforms)
        {
            DcpTransforms.CheckSupported(file, fqn, transforms);
            return new Fragment(chunk.Offsets, chunk.Sizes, new Payload(file, info.Offset, info.Length, transforms),
                Shapes.ContiguousStrides(chunk.Sizes), 0, rank);
        }
        var zip = TorchZip.Open(storage, file, info.Offset, info.Length);
        var (t, member) = Locate(zip, file, fqn, tensor.DType, chunk.Sizes);
        return new Fragment(chunk.Offsets, chunk.Sizes, new Payload(file, member.DataOffset, member.Size, null, member.Name),
            t.Strides, t.StorageOffset, rank);
    }

    /// <summary>The chunk tensor of a torch.save zip and the member holding its storage, checked against the metadata.</summary>
    public static (TorchTensor Tensor, ZipMember Member) Locate(TorchZip zip, string file, string fqn, DType dtype, IReadOnlyList<long> sizes)
    {
        var pickles = zip.Members.Where(m => m.Name == "data.pkl" || m.Name.EndsWith("/data.pkl", StringComparison.Ordinal)).ToArray();
        if (pickles.Length != 1)
            throw new CheckpointFormatException(FormatErrorReason.ZipInvalid, file, fqn,
                $"the chunk payload at byte {zip.Offset} holds {pickles.Length} data.pkl records, not one torch.save archive",
                expected: "1", found: pickles.Length.ToString());
        var prefix = pickles[0].Name[..^"data.pkl".Length];
        if (zip.Find(prefix + "byteorder") is { } order && zip.ReadAll(order, 16) is var bytes
            && System.Text.Encoding.ASCII.GetString(bytes) != "little")
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, file, fqn,
                "the chunk was saved big-endian", expected: "little", found: System.Text.Encoding.ASCII.GetString(bytes));

        var value = Unpickler.Load(zip.ReadAll(pickles[0], MaxPickleBytes), file,
            new PickleOptions { PersistentLoad = TorchStorage.FromPersistentId });
        if (value is not TorchTensor t)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, fqn,
                $"the chunk payload at byte {zip.Offset} holds {DcpObjectValue.KindOf(value)}, not a tensor");
        if (t.Storage.DType != dtype)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, fqn,
                $"the chunk payload at byte {zip.Offset} holds {t.Storage.ClassName} but .metadata says {dtype.TorchName()}",
                expected: dtype.TorchName(), found: t.Storage.ClassName);
        if (!t.Shape.SequenceEqual(sizes))
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, fqn,
                $"the chunk payload at byte {zip.Offset} holds a tensor of shape {Shapes.Format(t.Shape)} for a chunk of {Shapes.Format(sizes)}",
                expected: Shapes.Format(sizes), found: Shapes.Format(t.Shape));
        var member = zip.Find(prefix + "data/" + t.Storage.Key)
            ?? throw new CheckpointFormatException(FormatErrorReason.ZipInvalid, file, fqn,
                $"the chunk payload at byte {zip.Offset} has no member '{prefix}data/{t.Storage.Key}' for its storage");
        if (!member.IsStored)
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, file, fqn,
                $"storage member '{member.Name}' is compressed (method {member.Method}); torch.save stores storages uncompressed");

        // The furthest element the strides reach must lie inside the storage member.
        long extent = 0;
        if (Shapes.ElementCount(t.Shape) > 0)
        {
            long last = t.StorageOffset;
            for (int d = 0; d < t.Shape.Count; d++) last += (t.Shape[d] - 1) * t.Strides[d];
            extent = dtype.ByteCount(last + 1);
        }
        if (extent > member.Size)
            throw new CheckpointFormatException(FormatErrorReason.ByteLengthMismatch, file, fqn,
                $"the chunk's strides reach byte {extent} of storage member '{member.Name}', which holds {member.Size}",
                expected: $"≥ {extent} bytes", found: $"{member.Size} bytes");
        return (t, member);
    }
}
