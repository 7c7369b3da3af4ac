namespace Ckpt.Formats.TorchSave;

/// <summary>
/// Reads many small ranges (zip local headers, legacy storage counts) with few calls: ranges closer than
/// <see cref="MaxGap"/> are fetched as one block of at most <see cref="MaxBlock"/> bytes. A checkpoint of
/// 20,000 small tensors then costs tens of reads instead of 20,000.
/// </summary>
static class SmallRangeReads
{
    public const long MaxGap = 16 * 1024;
    public const long MaxBlock = 1024 * 1024;

    /// <summary>Calls <paramref name="visit"/> with each range's bytes; ranges must lie inside what <paramref name="read"/> can serve.</summary>
    public static void Read(IReadOnlyList<(long Offset, int Length)> ranges, Action<long, Memory<byte>> read, Action<int, ReadOnlySpan<byte>> visit)
    {
        var order = Enumerable.Range(0, ranges.Count).OrderBy(i => ranges[i].Offset).ToArray();
        int k = 0;
        while (k < order.Length)
        {
            long start = ranges[order[k]].Offset;
            long end = start + ranges[order[k]].Length;
            int j = k + 1;
            while (j < order.Length)
            {
                var next = ranges[order[j]];
                long newEnd = Math.Max(end, next.Offset + next.Length);
                if (next.Offset - end > MaxGap || newEnd - start > MaxBlock) break;
                end = newEnd;
                j++;
            }
            var block = new byte[end - start];
            read(start, block);
            for (int q = k; q < j; q++)
            {
                var r = ranges[order[q]];
                visit(order[q], block.AsSpan((int)(r.Offset - start), r.Length));
            }
            k = j;
        }
    }
}
