namespace Ckpt.Inspection;

/// <summary>
/// One fragment of one tensor as the layout charts draw it: its N-d box, who wrote it, where its bytes are,
/// and the box projected onto a 2-D rectangle of the global tensor.
/// </summary>
/// <remarks>
/// The projection keeps dim 0 as rows and dim 1 as columns and drops later dims: sharding strategies
/// (FSDP, TP, DTensor Shard(d)) split on dim 0 or 1, so the rectangles tile the drawn plane. 1-d tensors
/// are one row; 0-d tensors one cell. Hover text carries the full N-d offsets and lengths.
/// </remarks>
public sealed record FragmentPlacement(
    string Tensor,
    IReadOnlyList<long> Offsets,
    IReadOnlyList<long> Lengths,
    int? Rank,
    string File,
    long PayloadOffset,
    long PayloadLength,
    long Bytes)
{
    public (long Row, long Col, long Rows, long Cols) Rectangle => Offsets.Count switch
    {
        0 => (0, 0, 1, 1),
        1 => (0, Offsets[0], 1, Lengths[0]),
        _ => (Offsets[0], Offsets[1], Lengths[0], Lengths[1]),
    };

    public static (long Rows, long Cols) Plane(IReadOnlyList<long> shape) => shape.Count switch
    {
        0 => (1, 1),
        1 => (1, shape[0]),
        _ => (shape[0], shape[1]),
    };

    internal static FragmentPlacement Of(TensorEntry tensor, Fragment f) => new(
        tensor.Name, f.Offsets, f.Lengths, f.WriterRank, f.Payload.File, f.Payload.Offset, f.Payload.Length,
        tensor.DType.ByteCount(f.ElementCount));
}
