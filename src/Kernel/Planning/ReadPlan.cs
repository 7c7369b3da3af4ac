namespace Ckpt.Planning;

/// <summary>
/// The reads that materialise one target box of one tensor: byte ranges per file, sorted and coalesced,
/// each with the pieces to copy into the destination buffer. Fragments whose payload must be decoded
/// first (compressed DCP items) are listed separately.
/// </summary>
public sealed record ReadPlan(
    TensorEntry Tensor,
    Box Target,
    IReadOnlyList<RangeRead> Reads,
    IReadOnlyList<DecodedRead> DecodedReads)
{
    /// <summary>Bytes the target needs.</summary>
    public long BytesNeeded => Tensor.DType.ByteCount(Target.ElementCount);
    /// <summary>Bytes the plan reads from storage (≥ needed when small gaps were coalesced).</summary>
    public long BytesRead => Reads.Sum(r => r.Length) + DecodedReads.Sum(r => r.Fragment.Payload.Length);
}

/// <summary>One positional read, and where its pieces go.</summary>
public sealed record RangeRead(string File, long Offset, long Length, IReadOnlyList<Copy> Copies);

/// <summary>Copy <see cref="Length"/> bytes from <see cref="Source"/> (relative to the read) to <see cref="Destination"/>.</summary>
public readonly record struct Copy(long Source, long Destination, long Length);

/// <summary>A fragment whose payload is decoded whole, then the overlap copied out.</summary>
public sealed record DecodedRead(Fragment Fragment, Box Overlap);
