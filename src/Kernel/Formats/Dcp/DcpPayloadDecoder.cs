using Ckpt.Formats.TorchSave;
using Ckpt.Planning;

namespace Ckpt.Formats.Dcp;

/// <summary>
/// Loads a transformed DCP chunk (`stream.zstd/1`): reads the encoded range, undoes the transforms into the
/// torch.save zip (capped at the chunk's bytes plus the archive's own records), and takes the storage member
/// and strides from its data.pkl.
/// </summary>
internal sealed class DcpPayloadDecoder : IPayloadDecoder
{
    /// <summary>
    /// Room for the archive's records (data.pkl, version, byteorder, alignment padding) beyond the storage bytes:
    /// about 1.6 KB in torch's items (a 64-byte chunk is a 1,641-byte item), so 64 KiB is ample, and a zstd bomb in a
    /// small item costs at most that much.
    /// </summary>
    const long ArchiveSlack = 64L * 1024;

    public bool CanDecode(Payload payload) => !payload.IsRaw && payload.Transforms!.All(DcpTransforms.IsSupported);

    public DecodedPayload Decode(ICheckpointStorage storage, Fragment fragment, TensorEntry tensor, CancellationToken cancellationToken)
    {
        var p = fragment.Payload;
        var encoded = new byte[p.Length];
        storage.Read(p.File, p.Offset, encoded, IoCategory.Tensor);
        cancellationToken.ThrowIfCancellationRequested();
        long cap = tensor.DType.ByteCount(fragment.ElementCount) + ArchiveSlack;
        var archive = DcpTransforms.Decode(encoded, p.Transforms!, cap, p.File, tensor.Name);
        var torchSave = TorchSaveArchive.Open(archive, p.File);
        var t = DcpChunkPayload.ChunkTensor(torchSave, p.Offset, tensor.Name, tensor.DType, fragment.Lengths);
        // ToFragment checks that the strides stay inside the storage before any byte is copied out.
        torchSave.ToFragment(t, tensor.Name);
        var member = torchSave.StorageMember(t.Storage);
        var bytes = archive.AsSpan(checked((int)member.DataOffset), checked((int)member.Size)).ToArray();
        return new DecodedPayload(bytes, t.Strides, t.StorageOffset);
    }
}
