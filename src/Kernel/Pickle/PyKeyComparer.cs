using System.Numerics;
using Ckpt.Errors;

namespace Ckpt.Pickle;

/// <summary>
/// Equality and hashing of dict keys by value. Recursion into tuples is bounded, so a hostile pickle
/// of a deeply nested tuple key fails with PickleInvalid instead of overflowing the stack.
/// </summary>
sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();
    public const int MaxDepth = 100;

    public new bool Equals(object? a, object? b) => Eq(a, b, 0);
    public int GetHashCode(object o) => Hash(o, 0);

    static bool Eq(object? a, object? b, int depth)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a is null || b is null) return false;
        if (depth > MaxDepth) throw TooDeep();
        switch (a)
        {
            case long x when b is long y: return x == y;
            case long x when b is BigInteger y: return y == x;
            case BigInteger x when b is long y: return x == y;
            case BigInteger x when b is BigInteger y: return x == y;
            case string x when b is string y: return string.Equals(x, y, StringComparison.Ordinal);
            case byte[] x when b is byte[] y: return x.AsSpan().SequenceEqual(y);
            case PyTuple x when b is PyTuple y:
                if (x.Count != y.Count) return false;
                for (int i = 0; i < x.Count; i++)
                    if (!Eq(x[i], y[i], depth + 1)) return false;
                return true;
            case PySet { Frozen: true } x when b is PySet { Frozen: true } y:
                return x.Count == y.Count && x.All(i => y.Any(j => Eq(i, j, depth + 1)));
            default: return a.Equals(b);
        }
    }

    static int Hash(object o, int depth)
    {
        if (depth > MaxDepth) throw TooDeep();
        switch (o)
        {
            case long x: return x.GetHashCode();
            case BigInteger x: return x >= long.MinValue && x <= long.MaxValue ? ((long)x).GetHashCode() : x.GetHashCode();
            case string x: return StringComparer.Ordinal.GetHashCode(x);
            case byte[] x:
            {
                var h = new HashCode();
                h.AddBytes(x);
                return h.ToHashCode();
            }
            case PyTuple x:
            {
                var h = new HashCode();
                foreach (var item in x) h.Add(item is null ? 0 : Hash(item, depth + 1));
                return h.ToHashCode();
            }
            case PySet { Frozen: true } x: return x.Count;
            case PyList or PyDict or PySet:
                throw new CheckpointFormatException(FormatErrorReason.PickleInvalid, null, null,
                    $"the pickle uses an unhashable {PyRepr.TypeName(o)} as a dictionary key");
            default: return o.GetHashCode();
        }
    }

    static CheckpointFormatException TooDeep() =>
        new(FormatErrorReason.PickleInvalid, null, null, $"a dictionary key nests tuples deeper than {MaxDepth} levels");
}
