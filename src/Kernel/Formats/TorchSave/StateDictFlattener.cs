using System.Numerics;
using Ckpt.Pickle;

namespace Ckpt.Formats.TorchSave;

/// <summary>
/// Turns an unpickled object into manifest entries with dotted names, the way DCP flattens state dicts
/// (pytorch/pytorch torch/distributed/checkpoint/_traverse.py) so that a torch.save file and a DCP copy of
/// the same state share names: dicts are always entered (`optimizer.state.0.exp_avg`, int keys as numbers);
/// lists and tuples only when they hold a tensor or a dict, otherwise they stay one value
/// (`optimizer.param_groups.0.betas` = (0.9, 0.999)); inert objects are entered through their attribute dict
/// only when it holds tensors. Every other leaf becomes an <see cref="ObjectEntry"/> holding the inert value.
/// </summary>
public static class StateDictFlattener
{
    /// <summary>Deeper structures are kept as one value; real state dicts nest a handful of levels.</summary>
    public const int MaxDepth = 64;

    /// <summary>The name a lone tensor gets when the pickle is a tensor rather than a dict.</summary>
    public const string RootTensorName = "tensor";

    /// <summary>Shared sub-objects are visited once per reference, so a hostile DAG could otherwise expand exponentially.</summary>
    public const int MaxNodes = 5_000_000;

    public static (List<TensorEntry> Tensors, List<ObjectEntry> Objects) Flatten(object? root, ITorchStorageLocator locator)
    {
        var tensors = new List<TensorEntry>();
        var objects = new List<ObjectEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var path = new HashSet<object>(ReferenceEqualityComparer.Instance);

        void Leaf(string name, object? value)
        {
            if (name.Length == 0) name = value is TorchTensor ? RootTensorName : "value";
            if (!names.Add(name))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, locator.File, name,
                    "two entries flatten to this name (a key containing '.' collides with a nested key)");
            if (value is TorchTensor t)
                tensors.Add(new TensorEntry(name, t.Storage.DType, t.Shape.ToArray(), [locator.ToFragment(t, name)]));
            else
                objects.Add(new ObjectEntry(name, PyRepr.TypeName(value), value, locator.File));
        }

        int visited = 0;
        void Visit(string name, object? value, int depth)
        {
            if (++visited > MaxNodes)
                throw new CheckpointFormatException(FormatErrorReason.TooLarge, locator.File, null,
                    $"the pickled object expands to more than {MaxNodes} entries");
            if (depth > MaxDepth || (value is not null && path.Contains(value))) { Leaf(name, value); return; }
            IEnumerable<(string, object?)>? children = value switch
            {
                PyDict d when d.Count > 0 => d.Select(kv => (KeyText(kv.Key), kv.Value)),
                PyList l when ShouldEnter(l) => l.Select((v, i) => (i.ToString(CultureInfo.InvariantCulture), v)),
                PyTuple t when ShouldEnter(t) => t.Select((v, i) => (i.ToString(CultureInfo.InvariantCulture), v)),
                PyObject { State: PyDict s } o when ShouldEnter(s.Values) => s.Select(kv => (KeyText(kv.Key), kv.Value)),
                _ => null,
            };
            if (children is null) { Leaf(name, value); return; }
            path.Add(value!);
            foreach (var (key, child) in children.ToArray())
                Visit(name.Length == 0 ? key : name + "." + key, child, depth + 1);
            path.Remove(value!);
        }

        Visit("", root, 0);
        return (tensors, objects);
    }

    /// <summary>Whether a sequence holds a tensor or a non-empty dict anywhere inside (bounded, cycle-safe).</summary>
    static bool ShouldEnter(IEnumerable<object?> items) =>
        ShouldEnter(items, 0, new HashSet<object>(ReferenceEqualityComparer.Instance));

    static bool ShouldEnter(IEnumerable<object?> items, int depth, HashSet<object> seen)
    {
        if (depth > 8) return false;
        foreach (var item in items)
        {
            switch (item)
            {
                case TorchTensor: return true;
                case PyDict { Count: > 0 }: return true;
                case PyList l when seen.Add(l) && ShouldEnter(l, depth + 1, seen): return true;
                case PyTuple t when seen.Add(t) && ShouldEnter(t, depth + 1, seen): return true;
            }
        }
        return false;
    }

    static string KeyText(object key) => key switch
    {
        string s => s,
        long or BigInteger => Convert.ToString(key, CultureInfo.InvariantCulture)!,
        bool b => b ? "True" : "False",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        TorchDType t => t.ToString(),
        _ => PyRepr.Of(key),
    };
}
