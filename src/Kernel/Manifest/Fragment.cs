namespace Ckpt.Manifest;

/// <summary>
/// An N-d box of a global tensor (<see cref="Offsets"/>, <see cref="Lengths"/>) and where its bytes live.
/// The element at box-relative index i sits at byte
/// <c>Payload.Offset + (StorageOffset + Σ i_k·Strides_k)·itemsize</c> of the (decoded) payload.
/// </summary>
public sealed record Fragment(
    IReadOnlyList<long> Offsets,
    IReadOnlyList<long> Lengths,
    Payload Payload,
    IReadOnlyList<long> Strides,
    long StorageOffset = 0,
    int? WriterRank = null)
{
    public long ElementCount => Shapes.ElementCount(Lengths);

    public static Fragment Whole(IReadOnlyList<long> shape, Payload payload, int? rank = null) =>
        new(new long[shape.Count], shape.ToArray(), payload, Shapes.ContiguousStrides(shape), 0, rank);
}

/// <summary>
/// A byte range of one storage object. With no <see cref="Transforms"/> the range holds the storage bytes
/// directly. With transforms (DCP's `stream.zstd/1`), the range decodes to a torch.save zip whose
/// <see cref="ZipMember"/> holds them; strides are then read from that zip's pickle at load time.
/// </summary>
public sealed record Payload(string File, long Offset, long Length, IReadOnlyList<string>? Transforms = null, string? ZipMember = null)
{
    public bool IsRaw => Transforms is null || Transforms.Count == 0;
}
