namespace Ckpt.Pickle;

/// <summary>A Python list.</summary>
public sealed class PyList : List<object?>
{
    public PyList() { }
    public PyList(IEnumerable<object?> items) : base(items) { }
    public override string ToString() => PyRepr.Of(this);
}
