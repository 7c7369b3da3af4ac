namespace Ckpt.Pickle;

/// <summary>
/// An instance of a class the allow-list does not construct: kept as inert data (its class name, the
/// constructor arguments, the BUILD state, and any list/dict items the pickle appended), never executed.
/// Unknown dataclasses (DCP metadata, Megatron args) come through as this, so new fields never break parsing.
/// </summary>
public sealed class PyObject
{
    public PyObject(PyGlobal @class, PyTuple args, PyDict? kwargs = null)
    {
        Class = @class;
        Args = args;
        Kwargs = kwargs;
    }

    public PyGlobal Class { get; }
    public PyTuple Args { get; }
    public PyDict? Kwargs { get; }
    /// <summary>The BUILD state: usually a dict of attributes; a tuple for classes with __getstate__.</summary>
    public object? State { get; internal set; }
    /// <summary>Items APPENDed to the instance (list subclasses).</summary>
    public PyList? ListItems { get; internal set; }
    /// <summary>Items SETITEMed on the instance (dict subclasses).</summary>
    public PyDict? DictItems { get; internal set; }

    /// <summary>The attribute <paramref name="name"/> of a dict state, or null.</summary>
    public object? Attribute(string name)
    {
        var dict = State as PyDict ?? (State is PyTuple { Count: 2 } t ? t[0] as PyDict : null);
        return dict is not null && dict.TryGetValue(name, out var v) ? v : null;
    }

    public bool HasAttribute(string name)
    {
        var dict = State as PyDict ?? (State is PyTuple { Count: 2 } t ? t[0] as PyDict : null);
        return dict?.ContainsKey(name) ?? false;
    }

    public override string ToString() => PyRepr.Of(this);
}
