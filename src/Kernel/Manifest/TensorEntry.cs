namespace Ckpt.Manifest;

/// <summary>A tensor by its fully-qualified name, global dtype and shape, and where its pieces are.</summary>
public sealed record TensorEntry(string Name, DType DType, IReadOnlyList<long> Shape, IReadOnlyList<Fragment> Fragments)
{
    public long ElementCount => Shapes.ElementCount(Shape);
    public long ByteCount => DType.ByteCount(ElementCount);
    public int Rank => Shape.Count;
    public string ShapeText => Shapes.Format(Shape);
}

public static class Shapes
{
    public static long ElementCount(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (var d in shape) n = checked(n * d);
        return n;
    }

    /// <summary>Element count, or null when a dimension is negative or the product overflows 2^63.</summary>
    public static long? TryElementCount(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) return null;
            try { n = checked(n * d); } catch (OverflowException) { return null; }
        }
        return n;
    }

    public static long[] ContiguousStrides(IReadOnlyList<long> shape)
    {
        var s = new long[shape.Count];
        long acc = 1;
        for (int i = shape.Count - 1; i >= 0; i--) { s[i] = acc; acc *= Math.Max(shape[i], 1); }
        return s;
    }

    public static string Format(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";
}
