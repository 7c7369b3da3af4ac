using System.Collections;

namespace Ckpt.Pickle;

/// <summary>An immutable Python tuple. Compared by value, so tuples can be dictionary keys.</summary>
public sealed class PyTuple : IReadOnlyList<object?>, IEquatable<PyTuple>
{
    public static readonly PyTuple Empty = new([]);

    readonly object?[] _items;

    public PyTuple(object?[] items) => _items = items;

    /// <summary>The key hash, kept once computed (see <see cref="PyKeyComparer"/>).</summary>
    internal int? Hash { get; set; }

    public object? this[int index] => _items[index];
    public int Count => _items.Length;
    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)_items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(PyTuple? other) => other is not null && PyKeyComparer.Instance.Equals(this, other);
    public override bool Equals(object? obj) => obj is PyTuple t && Equals(t);
    public override int GetHashCode() => PyKeyComparer.Instance.GetHashCode(this);
    public override string ToString() => PyRepr.Of(this);
}
