namespace Ckpt.Resharding;

/// <summary>
/// torch.chunk's split of a length into parts: every part has ceil(n/parts) elements except the last
/// non-empty one; when n is small, trailing parts are empty (DTensor `Shard` pads them with empty tensors).
/// </summary>
public static class TorchChunk
{
    /// <summary>Offset and length of part <paramref name="index"/>; empty parts sit at offset n.</summary>
    public static (long Offset, long Length) Part(long n, int parts, int index)
    {
        if (parts <= 0) throw new ArgumentOutOfRangeException(nameof(parts));
        if (index < 0 || index >= parts) throw new ArgumentOutOfRangeException(nameof(index));
        long size = (n + parts - 1) / parts;
        long start = Math.Min(size * index, n);
        long end = Math.Min(start + size, n);
        return (start, end - start);
    }
}
