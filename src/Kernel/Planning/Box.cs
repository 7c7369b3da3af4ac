namespace Ckpt.Planning;

/// <summary>An N-d box of a global tensor: start offsets and lengths per dimension.</summary>
public sealed record Box(IReadOnlyList<long> Offsets, IReadOnlyList<long> Lengths)
{
    public int Rank => Offsets.Count;
    public long ElementCount { get { long n = 1; foreach (var l in Lengths) n = checked(n * l); return n; } }

    public static Box Whole(IReadOnlyList<long> shape) => new(new long[shape.Count], shape.ToArray());

    /// <summary>The overlap of two boxes, or null when they do not overlap (or either is empty).</summary>
    public Box? Intersect(Box other)
    {
        if (other.Rank != Rank) throw new ArgumentException($"rank {other.Rank} box intersected with rank {Rank}");
        var o = new long[Rank];
        var l = new long[Rank];
        for (int d = 0; d < Rank; d++)
        {
            long lo = Math.Max(Offsets[d], other.Offsets[d]);
            long hi = Math.Min(Offsets[d] + Lengths[d], other.Offsets[d] + other.Lengths[d]);
            if (hi <= lo) return null;
            o[d] = lo;
            l[d] = hi - lo;
        }
        return new Box(o, l);
    }

    public bool Contains(Box inner)
    {
        for (int d = 0; d < Rank; d++)
            if (inner.Offsets[d] < Offsets[d] || inner.Offsets[d] + inner.Lengths[d] > Offsets[d] + Lengths[d]) return false;
        return true;
    }

    public override string ToString() =>
        "[" + string.Join(", ", Offsets.Zip(Lengths, (o, l) => $"{o}:{o + l}")) + "]";
}
