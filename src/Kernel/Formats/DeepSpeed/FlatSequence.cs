namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// Flat tensors read as one vector, in order: ZeRO-1/2's per-rank partitions of a group (zero_to_fp32 `torch.cat`s
/// them), ZeRO-3's per-sub-group flat buffers of one rank, ZeRO-3 frozen `ds_tensor`s over ranks.
/// </summary>
sealed class FlatSequence
{
    readonly FlatTensor[] _parts;
    readonly long[] _starts;

    public FlatSequence(IEnumerable<FlatTensor> parts)
    {
        _parts = parts.ToArray();
        _starts = new long[_parts.Length + 1];
        for (int i = 0; i < _parts.Length; i++) _starts[i + 1] = checked(_starts[i] + _parts[i].Length);
    }

    public long Length => _starts[^1];
    public IReadOnlyList<FlatTensor> Parts => _parts;

    /// <summary>The pieces of elements [start, start + count): which part, from where in it, at which sequence position, how many.</summary>
    public IEnumerable<(FlatTensor Part, long At, long Start, long Count)> Slice(long start, long count)
    {
        long end = start + count;
        for (int i = 0; i < _parts.Length; i++)
        {
            long lo = Math.Max(start, _starts[i]), hi = Math.Min(end, _starts[i + 1]);
            if (lo < hi) yield return (_parts[i], lo - _starts[i], lo, hi - lo);
        }
    }

    /// <summary>Fragments of elements [start, start + count) of this sequence, which hold elements [paramStart, ...) of a tensor of <paramref name="shape"/>.</summary>
    public IEnumerable<Fragment> Fragments(IReadOnlyList<long> shape, long paramStart, long start, long count) =>
        Slice(start, count).SelectMany(p => p.Part.Fragments(shape, paramStart + (p.Start - start), p.Count, p.At));
}
