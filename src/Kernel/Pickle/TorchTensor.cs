namespace Ckpt.Pickle;

/// <summary>
/// A tensor as torch pickles it: `_rebuild_tensor_v2(storage, storage_offset, size, stride, ...)`.
/// Offset and strides count elements of the storage's dtype. No bytes are attached: a reader maps
/// <see cref="Storage"/> to where its bytes live.
/// </summary>
public sealed record TorchTensor(TorchStorage Storage, long StorageOffset, IReadOnlyList<long> Shape, IReadOnlyList<long> Strides,
    bool RequiresGrad, bool IsParameter = false)
{
    public override string ToString() => $"tensor({Storage.DType}, [{string.Join(", ", Shape)}], storage '{Storage.Key}')";
}
