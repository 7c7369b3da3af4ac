namespace Ckpt.Formats.Dcp;

/// <summary>
/// Whether chunks tile a tensor exactly (every element in exactly one chunk), in O(n·2^d) for n chunks of a d-dim
/// tensor, without comparing chunks with each other. Each box [l, u) contributes +1 or −1 at each of its 2^d corners
/// ((−1)^(number of coordinates taken from u)); this signed corner sum is the d-fold difference of the box's
/// indicator function, and the difference has a unique inverse (the d-fold prefix sum), so the chunks' indicators
/// add up to the whole tensor's exactly when their corner sums add up to the tensor's own corners.
/// </summary>
internal static class DcpChunkTiling
{
    public static bool Exact(IReadOnlyList<long> shape, IReadOnlyList<DcpChunk> chunks)
    {
        int d = shape.Count;
        if (d > 16) return false; // 2^d corners a chunk; such tensors are left to the pairwise check
        var corners = new Dictionary<Corner, int>();
        foreach (var c in chunks) Add(c.Offsets, c.Offsets.Zip(c.Sizes, (o, s) => o + s).ToArray(), +1);
        Add(new long[d], shape, -1); // the whole tensor's corners: subtracted, they must leave nothing
        return corners.Count == 0;

        void Add(IReadOnlyList<long> lower, IReadOnlyList<long> upper, int weight)
        {
            for (int mask = 0; mask < 1 << d; mask++)
            {
                var at = new long[d];
                int sign = weight;
                for (int i = 0; i < d; i++)
                {
                    bool up = (mask >> i & 1) == 1;
                    at[i] = up ? upper[i] : lower[i];
                    if (up) sign = -sign;
                }
                var key = new Corner(at);
                int sum = corners.GetValueOrDefault(key) + sign;
                if (sum == 0) corners.Remove(key);
                else corners[key] = sum;
            }
        }
    }

    readonly struct Corner(long[] at) : IEquatable<Corner>
    {
        readonly long[] _at = at;
        public bool Equals(Corner other) => _at.AsSpan().SequenceEqual(other._at);
        public override bool Equals(object? obj) => obj is Corner c && Equals(c);
        public override int GetHashCode()
        {
            var h = new HashCode(); // seeded per process: a file cannot aim corners at one bucket
            foreach (var x in _at) h.Add(x);
            return h.ToHashCode();
        }
    }
}
