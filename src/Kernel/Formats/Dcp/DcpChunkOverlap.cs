namespace Ckpt.Formats.Dcp;

/// <summary>
/// Finds two chunks of one tensor that share an element, to name them when <see cref="DcpChunkTiling"/> has found
/// that the chunks do not tile the tensor; O(n log n) for the layouts DCP writes. Dimensions that
/// every chunk spans whole cannot tell two chunks apart and are dropped first (a row-sharded 3-d weight is 1-d
/// here). One dimension left: sorted by start, a chunk overlaps an earlier one exactly when it starts before the
/// furthest end so far. Two: a sweep along one dimension keeps a count, per position of the other, of the chunks
/// it currently crosses (a segment tree over the compressed positions); a chunk entering where the count is not
/// zero overlaps one of them. Three or more (sharded along three dimensions at once, which no planner writes):
/// the sweep compares each chunk with those it crosses along the dimension with the most distinct offsets, up to
/// a number of comparisons linear in n; past that the layout is refused without naming a pair.
/// The pairwise sweep along dimension 0 it replaces took 9 s for 40,000 one-element chunks in one row.
/// </summary>
internal static class DcpChunkOverlap
{
    public static (DcpChunk, DcpChunk)? Find(IReadOnlyList<long> shape, IReadOnlyList<DcpChunk> chunks)
    {
        if (chunks.Count < 2) return null;
        var dims = Enumerable.Range(0, shape.Count)
            .Where(d => chunks.Any(c => c.Offsets[d] != 0 || c.Sizes[d] != shape[d]))
            .OrderByDescending(d => chunks.Select(c => c.Offsets[d]).Distinct().Count())
            .ToArray();
        return dims.Length switch
        {
            0 => (chunks[0], chunks[1]), // each chunk is the whole tensor
            1 => Sorted(chunks, dims[0]),
            2 => Swept(chunks, dims[0], dims[1]),
            _ => Banded(chunks, dims[0]),
        };
    }

    static (DcpChunk, DcpChunk)? Sorted(IReadOnlyList<DcpChunk> chunks, int d)
    {
        var sorted = chunks.OrderBy(c => c.Offsets[d]).ToArray();
        var furthest = sorted[0];
        foreach (var c in sorted.Skip(1))
        {
            if (c.Offsets[d] < End(furthest, d)) return (furthest, c);
            if (End(c, d) > End(furthest, d)) furthest = c;
        }
        return null;
    }

    static (DcpChunk, DcpChunk)? Swept(IReadOnlyList<DcpChunk> chunks, int a, int b)
    {
        var positions = chunks.SelectMany(c => new[] { c.Offsets[b], End(c, b) }).Distinct().Order().ToArray();
        int Position(long x) => Array.BinarySearch(positions, x);
        var crossing = new CrossingCounts(positions.Length);
        var active = new HashSet<DcpChunk>(ReferenceEqualityComparer.Instance);
        var leaving = new PriorityQueue<DcpChunk, long>();
        foreach (var c in chunks.OrderBy(c => c.Offsets[a]))
        {
            while (leaving.TryPeek(out var done, out var end) && end <= c.Offsets[a])
            {
                leaving.Dequeue();
                crossing.Add(Position(done.Offsets[b]), Position(End(done, b)), -1);
                active.Remove(done);
            }
            if (crossing.Max(Position(c.Offsets[b]), Position(End(c, b))) > 0)
                return (active.First(o => o.Offsets[b] < End(c, b) && c.Offsets[b] < End(o, b)), c);
            crossing.Add(Position(c.Offsets[b]), Position(End(c, b)), +1);
            active.Add(c);
            leaving.Enqueue(c, End(c, a));
        }
        return null;
    }

    /// <summary>Gives up (null) after a number of comparisons linear in n: the caller already knows the layout is wrong.</summary>
    static (DcpChunk, DcpChunk)? Banded(IReadOnlyList<DcpChunk> chunks, int a)
    {
        var sorted = chunks.OrderBy(c => c.Offsets[a]).ToArray();
        long budget = 64L * sorted.Length + 1_000_000;
        for (int i = 0; i < sorted.Length; i++)
            for (int j = i + 1; j < sorted.Length && sorted[j].Offsets[a] < End(sorted[i], a); j++)
            {
                if (--budget < 0) return null;
                if (Overlap(sorted[i], sorted[j])) return (sorted[i], sorted[j]);
            }
        return null;
    }

    static long End(DcpChunk c, int d) => c.Offsets[d] + c.Sizes[d];

    static bool Overlap(DcpChunk x, DcpChunk y)
    {
        for (int d = 0; d < x.Offsets.Count; d++)
            if (Math.Max(x.Offsets[d], y.Offsets[d]) >= Math.Min(End(x, d), End(y, d))) return false;
        return true;
    }

    /// <summary>How many chunks cover each gap [positions[i], positions[i+1]): range add, range max, both O(log n).</summary>
    sealed class CrossingCounts(int positions)
    {
        readonly int _gaps = Math.Max(1, positions - 1);
        readonly int[] _max = new int[4 * Math.Max(1, positions)];
        readonly int[] _pending = new int[4 * Math.Max(1, positions)];

        /// <summary>Adds <paramref name="delta"/> to gaps [from, to).</summary>
        public void Add(int from, int to, int delta) => Add(1, 0, _gaps, from, to, delta);

        public int Max(int from, int to) => Max(1, 0, _gaps, from, to);

        void Add(int node, int lo, int hi, int from, int to, int delta)
        {
            if (to <= lo || hi <= from) return;
            if (from <= lo && hi <= to) { _max[node] += delta; _pending[node] += delta; return; }
            int mid = (lo + hi) / 2;
            Add(2 * node, lo, mid, from, to, delta);
            Add(2 * node + 1, mid, hi, from, to, delta);
            _max[node] = _pending[node] + Math.Max(_max[2 * node], _max[2 * node + 1]);
        }

        int Max(int node, int lo, int hi, int from, int to)
        {
            if (to <= lo || hi <= from) return int.MinValue;
            if (from <= lo && hi <= to) return _max[node];
            int mid = (lo + hi) / 2;
            return _pending[node] + Math.Max(Max(2 * node, lo, mid, from, to), Max(2 * node + 1, mid, hi, from, to));
        }
    }
}
