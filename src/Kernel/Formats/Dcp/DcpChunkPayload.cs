using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;

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
    const long SmallChunkBytes = 64 * 1024;

    public static Fragment Fragment(ICheckpointStorage storage, string file, string fqn, DcpTensorItem tensor, DcpChunk chunk, DcpStorageInfo info)
    {
        int? rank = DcpStoragePath.WriterRank(file);
        if (info.Transforms is { Count: > 0 } transforms)
        {
            DcpTransforms.CheckSupported(file, fqn, transforms);
            return new Fragment(chunk.Offsets, chunk.Sizes, new Payload(file, info.Offset, info.Length, transforms),
                Shapes.ContiguousStrides(chunk.Sizes), 0, rank);
        }
        // The zip reader reads up to 64 KiB of a zip's tail to find its directory, so a small chunk is read whole
        // in one call and parsed in memory instead of in a dozen small reads; member offsets are then relative.
        bool whole = info.Length <= SmallChunkBytes;
        TorchSaveArchive archive;
        if (whole)
        {
            var bytes = new byte[info.Length];
            storage.Read(file, info.Offset, bytes, IoCategory.Metadata);
            archive = TorchSaveArchive.Open(bytes, file);
        }
        else archive = TorchSaveArchive.Open(storage, file, info.Offset, info.Length);
        var t = ChunkTensor(archive, info.Offset, fqn, tensor.DType, chunk.Sizes);
        var fragment = archive.ToFragment(t, fqn, chunk.Offsets, rank);
        var member = archive.StorageMember(t.Storage);
        return fragment with { Payload = new Payload(file, (whole ? info.Offset : 0) + member.DataOffset, member.Size, null, member.Name) };
    }

    /// <summary>The one tensor a chunk archive holds, checked against the dtype and sizes `.metadata` gives the chunk.</summary>
    public static TorchTensor ChunkTensor(TorchSaveArchive archive, long at, string fqn, DType dtype, IReadOnlyList<long> sizes)
    {
        var file = archive.File;
        if (archive.Root is not TorchTensor t)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, fqn,
                $"the chunk payload at byte {at} holds {DcpObjectValue.KindOf(archive.Root)}, not a tensor");
        if (t.Storage.DType != dtype)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, fqn,
                $"the chunk payload at byte {at} holds {t.Storage.ClassName} but .metadata says {dtype.TorchName()}",
                expected: dtype.TorchName(), found: t.Storage.ClassName);
        if (!t.Shape.SequenceEqual(sizes))
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, fqn,
                $"the chunk payload at byte {at} holds a tensor of shape {Shapes.Format(t.Shape)} for a chunk of {Shapes.Format(sizes)}",
                expected: Shapes.Format(sizes), found: Shapes.Format(t.Shape));
        return t;
    }
}
