namespace Ckpt.Pickle;

/// <summary>A Python set or frozenset, kept as its items in pickle order.</summary>
public sealed class PySet : List<object?>
{
    public bool Frozen { get; init; }
    /// <summary>A frozenset's key hash, kept once computed; the unpickler never adds to a frozenset after building it.</summary>
    internal int? Hash { get; set; }
    public PySet() { }
    public PySet(IEnumerable<object?> items, bool frozen) : base(items) => Frozen = frozen;
    public override string ToString() => PyRepr.Of(this);
}
