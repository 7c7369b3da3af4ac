using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;

namespace Ckpt.Formats.Dcp;

/// <summary>
/// A `BytesStorageMetadata` item: the bytes of `torch.save(obj)` (param_groups entries, step counters, losses,
/// RNG and dataloader state), unpickled into inert values. Tensors inside stay <see cref="TorchTensor"/>
/// descriptors; nothing is executed.
/// </summary>
internal static class DcpObjectValue
{
    public static ObjectEntry Read(ICheckpointStorage storage, string file, string fqn, DcpStorageInfo info)
    {
        if (info.Length > DcpFormat.MaxDecodedObjectBytes)
            return new ObjectEntry(fqn, $"bytes ({info.Length} bytes, not decoded)", null, file);
        var bytes = new byte[info.Length];
        storage.Read(file, info.Offset, bytes, IoCategory.Metadata);
        if (info.Transforms is { Count: > 0 } transforms)
            bytes = DcpTransforms.Decode(bytes, transforms, MaxDecodedBytes(bytes.Length), file, fqn);
        var value = TorchSaveArchive.Open(bytes, file).Root;
        return new ObjectEntry(fqn, KindOf(value), value, file);
    }

    /// <summary>
    /// A transformed object may decode to 1 MiB, or 64 times its encoded bytes, up to the 16 MiB of any object: a
    /// pickled object compresses a few times, and a few bytes of zstd must not cost 16 MiB.
    /// </summary>
    internal static long MaxDecodedBytes(long encodedBytes) => Math.Min(DcpFormat.MaxDecodedObjectBytes, (1L << 20) + 64 * encodedBytes);

    /// <summary>The Python type of a value, as a short word for listings: <see cref="PyRepr.TypeName"/>, a tensor just
    /// "tensor".</summary>
    public static string KindOf(object? value) => value is TorchTensor ? "tensor" : PyRepr.TypeName(value);
}
