using System.Collections;

namespace Ckpt.Pickle;

/// <summary>
/// A Python dict (or OrderedDict): insertion-ordered, keys compared as Python would for the key types a
/// checkpoint holds (str, int, tuple, bytes, None, bool, float). Setting an existing key keeps its position.
/// </summary>
public sealed class PyDict : IReadOnlyDictionary<object, object?>
{
    readonly List<KeyValuePair<object, object?>> _entries = [];
    readonly Dictionary<object, int> _index = new(PyKeyComparer.Instance);

    public int Count => _entries.Count;

    public object? this[object key]
    {
        get => _index.TryGetValue(Key(key), out var i) ? _entries[i].Value : throw new KeyNotFoundException(PyRepr.Of(key));
        set
        {
            var k = Key(key);
            if (_index.TryGetValue(k, out var i)) _entries[i] = new(_entries[i].Key, value);
            else
            {
                _index[k] = _entries.Count;
                _entries.Add(new(k, value));
            }
        }
    }

    /// <summary>The <paramref name="index"/>th entry in insertion order.</summary>
    internal KeyValuePair<object, object?> EntryAt(int index) => _entries[index];

    public IEnumerable<object> Keys => _entries.Select(e => e.Key);
    public IEnumerable<object?> Values => _entries.Select(e => e.Value);

    public bool ContainsKey(object key) => _index.ContainsKey(Key(key));

    public bool TryGetValue(object key, out object? value)
    {
        if (_index.TryGetValue(Key(key), out var i)) { value = _entries[i].Value; return true; }
        value = null;
        return false;
    }

    /// <summary>The value of a string key, or null.</summary>
    public object? Get(string key) => TryGetValue(key, out var v) ? v : null;

    public IEnumerator<KeyValuePair<object, object?>> GetEnumerator() => _entries.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>None is stored under a sentinel so the key type can stay non-null.</summary>
    static object Key(object? key) => key ?? PyNone.Value;

    public override string ToString() => PyRepr.Of(this);
}

/// <summary>Python's None as a dictionary key.</summary>
public sealed class PyNone
{
    public static readonly PyNone Value = new();
    PyNone() { }
    public override string ToString() => "None";
}
