namespace Ckpt.Planning;

/// <summary>
/// Intersects a target box with a tensor's fragments and turns each overlap into contiguous byte runs,
/// then groups runs per file, sorts them by offset and merges neighbours separated by small gaps.
/// </summary>
public static class ReadPlanner
{
    /// <summary>Local disks: runs closer than this are read as one range (one syscall beats two for a small gap).</summary>
    public const long CoalesceGapBytes = 64 * 1024;
    /// <summary>Local disks: upper bound of one range read, so memory stays bounded and reads spread over workers.</summary>
    public const long MaxReadBytes = 16L * 1024 * 1024;

    /// <param name="maxOverRead">
    /// When set, a gap is only read through while the gap bytes of the merged range stay within this fraction of the
    /// bytes it needs (a reshard passes 0.05: each rank reads at most 5% more than its shards). Unset, the storage's
    /// own budget applies (none for local disks, where any gap under <see cref="CoalesceGapBytes"/> is read through).
    /// </param>
    /// <param name="tuning">The storage's <see cref="ICheckpointStorage.Tuning"/>; <see cref="ReadTuning.LocalDisk"/> when null.</param>
    public static ReadPlan Plan(TensorEntry tensor, Box? target = null, double? maxOverRead = null, ReadTuning? tuning = null)
    {
        tuning ??= ReadTuning.LocalDisk;
        long gapLimit = tuning.CoalesceGapBytes, maxRead = tuning.MaxReadBytes;
        maxOverRead = tuning.Budget(maxOverRead);
        target ??= Box.Whole(tensor.Shape);
        Validate(tensor, target);
        int item = tensor.DType.Size();
        var destStrides = Shapes.ContiguousStrides(target.Lengths);
        var runs = new List<(string File, long Src, long Dst, long Len)>();
        var decoded = new List<DecodedRead>();
        long covered = 0;

        foreach (var fragment in tensor.Fragments)
        {
            var fbox = new Box(fragment.Offsets, fragment.Lengths);
            var overlap = fbox.Intersect(target);
            if (overlap is null) continue;
            covered += overlap.ElementCount;
            if (!fragment.Payload.IsRaw) { decoded.Add(new DecodedRead(fragment, overlap)); continue; }
            EmitRuns(fragment, overlap, target, destStrides, item, (src, dst, len) => runs.Add((fragment.Payload.File, src, dst, len)));
        }

        if (covered != target.ElementCount)
            throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, null, tensor.Name,
                $"the saved fragments cover {covered} of the {target.ElementCount} elements of box {target}",
                expected: target.ElementCount.ToString(), found: covered.ToString());

        var reads = new List<RangeRead>();
        foreach (var file in runs.GroupBy(r => r.File))
        {
            var sorted = file.OrderBy(r => r.Src).ToList();
            int i = 0;
            while (i < sorted.Count)
            {
                // A single long run is split into pieces of the tuning's MaxReadBytes that land straight in the destination.
                var (f, src, dst, len) = sorted[i];
                if (len >= maxRead)
                {
                    for (long o = 0; o < len; o += maxRead)
                    {
                        long n = Math.Min(maxRead, len - o);
                        reads.Add(new RangeRead(f, src + o, n, [new Copy(0, dst + o, n)]));
                    }
                    i++;
                    continue;
                }
                long start = src, end = src + len, needed = len, gaps = 0;
                var copies = new List<Copy> { new(0, dst, len) };
                int j = i + 1;
                while (j < sorted.Count)
                {
                    var next = sorted[j];
                    long newEnd = Math.Max(end, next.Src + next.Len);
                    long gap = Math.Max(0, next.Src - end);
                    if (gap > gapLimit || newEnd - start > maxRead) break;
                    if (maxOverRead is double budget && gaps + gap > budget * (needed + next.Len)) break;
                    gaps += gap;
                    needed += next.Len;
                    copies.Add(new Copy(next.Src - start, next.Dst, next.Len));
                    end = newEnd;
                    j++;
                }
                reads.Add(new RangeRead(f, start, end - start, copies));
                i = j;
            }
        }
        return new ReadPlan(tensor, target, reads, decoded);
    }

    /// <summary>
    /// Walks the overlap in row-major order, emitting (source byte, destination byte, length) runs. Trailing
    /// dimensions that are contiguous in both the payload and the destination collapse into one run.
    /// </summary>
    internal static void EmitRuns(Fragment fragment, Box overlap, Box target, long[] destStrides, int item,
        Action<long, long, long> emit)
    {
        int n = overlap.Rank;
        var srcStrides = fragment.Strides;
        if (n == 0)
        {
            emit(fragment.Payload.Offset + fragment.StorageOffset * item, 0, item);
            return;
        }
        // Collapse trailing dims: [collapseFrom, n) form one contiguous run of runElems elements.
        int collapseFrom = n;
        long runElems = 1;
        for (int d = n - 1; d >= 0; d--)
        {
            if (srcStrides[d] != runElems && overlap.Lengths[d] != 1) break;
            if (destStrides[d] != runElems && overlap.Lengths[d] != 1) break;
            runElems *= overlap.Lengths[d];
            collapseFrom = d;
            // The next outer dim may only join when this one is taken whole in both spaces.
            if (overlap.Lengths[d] != fragment.Lengths[d] || overlap.Lengths[d] != target.Lengths[d])
            {
                break;
            }
        }
        long runBytes = runElems * item;
        var idx = new long[collapseFrom];
        while (true)
        {
            long src = fragment.StorageOffset, dst = 0;
            for (int d = 0; d < n; d++)
            {
                long i = d < collapseFrom ? idx[d] : 0;
                src += (overlap.Offsets[d] - fragment.Offsets[d] + i) * srcStrides[d];
                dst += (overlap.Offsets[d] - target.Offsets[d] + i) * destStrides[d];
            }
            emit(fragment.Payload.Offset + src * item, dst * item, runBytes);
            int k = collapseFrom - 1;
            while (k >= 0 && ++idx[k] == overlap.Lengths[k]) { idx[k] = 0; k--; }
            if (k < 0) break;
        }
    }

    static void Validate(TensorEntry tensor, Box target)
    {
        if (target.Rank != tensor.Rank)
            throw new CheckpointFormatException(FormatErrorReason.SliceOutOfBounds, null, tensor.Name,
                $"a {target.Rank}-d slice was asked of a {tensor.Rank}-d tensor", expected: tensor.Rank.ToString(), found: target.Rank.ToString());
        for (int d = 0; d < target.Rank; d++)
            if (target.Offsets[d] < 0 || target.Lengths[d] < 0 || target.Offsets[d] + target.Lengths[d] > tensor.Shape[d])
                throw new CheckpointFormatException(FormatErrorReason.SliceOutOfBounds, null, tensor.Name,
                    $"slice {target} is outside shape {tensor.ShapeText}");
    }
}
