using System.Numerics;

namespace Ckpt.Pickle;

/// <summary>
/// Equality and hashing of dict keys by value. Work is bounded: a hostile pickle can build a tuple key that
/// nests deeply, or shares sub-tuples so that a naive walk visits 2^100 nodes; both fail with PickleInvalid.
/// Hashes are seeded per process (<see cref="HashCode"/>) and mix every bit of a number, so a file cannot choose
/// keys that share a bucket: .NET's own long hash folds the halves (k·(2³²+1) all hash to 0), and an XOR of item
/// hashes lets frozensets of different sets cancel to one value. Tuple and frozenset hashes are kept once
/// computed (neither changes after the pickle builds it), so a DAG of tuples is hashed once per node.
/// </summary>
sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();
    public const int MaxDepth = 100;
    /// <summary>Real keys are a few strings or ints; a per-call bound this low keeps repeated equal keys cheap.</summary>
    public const int MaxNodes = 10_000;

    public new bool Equals(object? a, object? b)
    {
        int budget = MaxNodes;
        return Eq(a, b, 0, ref budget);
    }

    public int GetHashCode(object o)
    {
        int budget = MaxNodes;
        return Hash(o, 0, ref budget);
    }

    static bool Eq(object? a, object? b, int depth, ref int budget)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a is null || b is null) return false;
        Spend(depth, ref budget);
        switch (a)
        {
            case long x when b is long y: return x == y;
            case long x when b is BigInteger y: return y == x;
            case BigInteger x when b is long y: return x == y;
            case BigInteger x when b is BigInteger y: return x == y;
            case string x when b is string y: return string.Equals(x, y, StringComparison.Ordinal);
            case byte[] x when b is byte[] y: return x.AsSpan().SequenceEqual(y);
            case PyTuple x when b is PyTuple y:
                if (x.Count != y.Count || (x.Hash is { } hx && y.Hash is { } hy && hx != hy)) return false;
                for (int i = 0; i < x.Count; i++)
                    if (!Eq(x[i], y[i], depth + 1, ref budget)) return false;
                return true;
            case PySet { Frozen: true } x when b is PySet { Frozen: true } y:
            {
                if (x.Count != y.Count || (x.Hash is { } sx && y.Hash is { } sy && sx != sy)) return false;
                budget -= x.Count + y.Count;
                Spend(depth, ref budget);
                var set = new HashSet<object>(x.Select(i => i ?? PyNone.Value), Instance);
                return y.All(i => set.Contains(i ?? PyNone.Value));
            }
            default: return a.Equals(b);
        }
    }

    static int Hash(object o, int depth, ref int budget)
    {
        Spend(depth, ref budget);
        switch (o)
        {
            case long x: return Mix(x);
            case BigInteger x when x >= long.MinValue && x <= long.MaxValue: return Mix((long)x);
            case BigInteger x:
            {
                var h = new HashCode();
                h.AddBytes(x.ToByteArray());
                return h.ToHashCode();
            }
            case double x: return Mix(BitConverter.DoubleToInt64Bits(x == 0 ? 0.0 : x)); // -0.0 == 0.0
            case string x: return StringComparer.Ordinal.GetHashCode(x);
            case byte[] x:
            {
                var h = new HashCode();
                h.AddBytes(x);
                return h.ToHashCode();
            }
            case PyTuple x:
            {
                if (x.Hash is { } known) return known;
                var h = new HashCode();
                foreach (var item in x) h.Add(item is null ? 0 : Hash(item, depth + 1, ref budget));
                return (x.Hash = h.ToHashCode()).Value;
            }
            case PySet { Frozen: true } x:
            {
                if (x.Hash is { } known) return known;
                // Order-independent, like Python's frozenset hash; each item hash goes through the seeded mix
                // first, so sets cannot be built whose item hashes cancel.
                long sum = x.Count;
                foreach (var item in x) sum += Mix(item is null ? 0 : Hash(item, depth + 1, ref budget));
                return (x.Hash = Mix(sum)).Value;
            }
            case PyList or PyDict or PySet:
                throw new CheckpointFormatException(FormatErrorReason.PickleInvalid, null, null,
                    $"the pickle uses an unhashable {PyRepr.TypeName(o)} as a dictionary key");
            default: return o.GetHashCode();
        }
    }

    static int Mix(long x) => HashCode.Combine((int)x, (int)(x >> 32));

    static void Spend(int depth, ref int budget)
    {
        if (depth > MaxDepth)
            throw new CheckpointFormatException(FormatErrorReason.PickleInvalid, null, null, $"a dictionary key nests deeper than {MaxDepth} levels");
        if (--budget < 0)
            throw new CheckpointFormatException(FormatErrorReason.PickleInvalid, null, null, $"a dictionary key has more than {MaxNodes} parts");
    }
}
