namespace Ckpt.Resilience;

/// <summary>
/// Training state frozen in host memory at one step: the bytes no longer change while they are
/// serialised and written, whatever the training loop does to the live tensors.
/// </summary>
public sealed record Snapshot(long Step, IReadOnlyList<SnapshotTensor> Tensors)
{
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    public long ByteCount => Tensors.Sum(t => (long)t.Bytes.Length);
}

/// <summary>One tensor of a snapshot: row-major little-endian bytes in host memory.</summary>
public sealed record SnapshotTensor(string Name, DType DType, long[] Shape, ReadOnlyMemory<byte> Bytes);
