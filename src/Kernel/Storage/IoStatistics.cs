namespace Ckpt.Storage;

/// <summary>Byte and call counters for one storage, split by what the bytes were read for.</summary>
public sealed class IoStatistics
{
    long _metadataBytes, _tensorBytes, _reads;

    public long MetadataBytesRead => Interlocked.Read(ref _metadataBytes);
    public long TensorBytesRead => Interlocked.Read(ref _tensorBytes);
    public long ReadCalls => Interlocked.Read(ref _reads);

    internal void Record(IoCategory category, long bytes)
    {
        Interlocked.Increment(ref _reads);
        if (category == IoCategory.Tensor) Interlocked.Add(ref _tensorBytes, bytes);
        else Interlocked.Add(ref _metadataBytes, bytes);
    }

    public void Reset()
    {
        Interlocked.Exchange(ref _metadataBytes, 0);
        Interlocked.Exchange(ref _tensorBytes, 0);
        Interlocked.Exchange(ref _reads, 0);
    }
}
