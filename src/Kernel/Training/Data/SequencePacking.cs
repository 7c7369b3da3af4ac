namespace Ckpt.Training.Data;

/// <summary>
/// TRL's "bfd" packing strategy (SFTConfig packing=True): whole examples, longest first, each into the open row whose
/// free room fits it most tightly, a new row when none does. No example is split, so none loses its start or its
/// context; rows hold at most <c>maxLength</c> tokens. Ties go to the earlier example and the lower-numbered row, so
/// the rows are a pure function of the lengths (a resumed run packs the same rows).
/// </summary>
static class SequencePacking
{
    /// <summary>Rows of example indices (in the order each row received them) for examples of the given token counts.</summary>
    /// <exception cref="ArgumentException">A length below 1 or above <paramref name="maxLength"/> (examples are truncated to it first).</exception>
    public static int[][] BestFitDecreasing(IReadOnlyList<int> lengths, int maxLength)
    {
        for (int i = 0; i < lengths.Count; i++)
            if (lengths[i] < 1 || lengths[i] > maxLength)
                throw new ArgumentException($"example {i} has {lengths[i]} tokens; packing needs 1 to {maxLength} (truncate to the max length first)");
        var rows = new List<List<int>>();
        var open = new OpenRows(maxLength);
        foreach (int example in Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]))
        {
            int length = lengths[example];
            int row, room;
            if (open.TakeTightest(length) is { } fit) (row, room) = fit;
            else
            {
                (row, room) = (rows.Count, maxLength);
                rows.Add([]);
            }
            rows[row].Add(example);
            if (room > length) open.Add(room - length, row);
        }
        return rows.Select(r => r.ToArray()).ToArray();
    }

    /// <summary>
    /// Rows with free room, found by room in O(log maxLength): a count tree over room sizes 0..maxLength (as TRL's
    /// segment tree) points to the smallest room that fits, and each room size keeps its rows lowest-numbered first.
    /// </summary>
    sealed class OpenRows
    {
        readonly int _leaves;
        readonly int[] _counts;
        readonly PriorityQueue<int, int>?[] _rows;

        public OpenRows(int maxRoom)
        {
            _leaves = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)maxRoom + 1);
            _counts = new int[2 * _leaves];
            _rows = new PriorityQueue<int, int>?[maxRoom + 1];
        }

        public void Add(int room, int row)
        {
            (_rows[room] ??= new()).Enqueue(row, row);
            for (int node = _leaves + room; node > 0; node /= 2) _counts[node]++;
        }

        public (int Row, int Room)? TakeTightest(int need)
        {
            int room = First(1, 0, _leaves, need);
            if (room < 0) return null;
            for (int node = _leaves + room; node > 0; node /= 2) _counts[node]--;
            return (_rows[room]!.Dequeue(), room);
        }

        /// <summary>The smallest room ≥ <paramref name="need"/> with an open row under node (covering rooms [lo, hi)), or −1.</summary>
        int First(int node, int lo, int hi, int need)
        {
            if (hi <= need || _counts[node] == 0) return -1;
            if (hi - lo == 1) return lo;
            int mid = (lo + hi) / 2;
            int left = First(2 * node, lo, mid, need);
            return left >= 0 ? left : First(2 * node + 1, mid, hi, need);
        }
    }
}
