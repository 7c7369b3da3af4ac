namespace Ckpt.Pickle;

/// <summary>A Python set or frozenset, kept as its items in pickle order.</summary>
public sealed class PySet : List<object?>
{
    public bool Frozen { get; init; }
    public PySet() { }
    public PySet(IEnumerable<object?> items, bool frozen) : base(items) => Frozen = frozen;
    public override string ToString() => PyRepr.Of(this);
}
