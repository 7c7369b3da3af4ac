namespace Ckpt.Pickle;

/// <summary>
/// How many nodes a walk over an unpickled value visits when it follows every reference (the state-dict flattener,
/// a repr, a comparison): a value the memo shares is visited once per reference to it. A pickle of a few hundred
/// bytes can hold a DAG whose levels each refer to the level below twice, so its tree has 2^100 nodes; this counts
/// them in time linear in the input, saturating at <see cref="long.MaxValue"/>. The size of each container of
/// <see cref="Remembered"/> nodes or more is kept, so a shared one is summed once; a smaller one is summed again
/// per reference, at most that many nodes each time, which keeps the kept sizes few (a dict of 16,000 frozensets
/// needs none). The walk is iterative, because `]]a]a...` nests lists two bytes a level, deeper than any call
/// stack. A cycle (a list appended to itself) counts its back reference as one node, as walkers stop there.
/// </summary>
static class PyTreeSize
{
    const long Remembered = 64;

    public static long Of(object? root)
    {
        var sizes = new Dictionary<object, long>(ReferenceEqualityComparer.Instance);
        var open = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(object Node, int Next, long Size)>();
        long result = 0;
        Enter(root);
        while (stack.Count > 0)
        {
            var (node, next, size) = stack.Pop();
            if (next < Count(node))
            {
                stack.Push((node, next + 1, size));
                Enter(Child(node, next));
                continue;
            }
            open.Remove(node);
            if (size >= Remembered) sizes[node] = size;
            Add(size);
        }
        return result;

        // Opens a container to be summed, or adds a leaf's (or a known container's) size to the open parent.
        void Enter(object? value)
        {
            if (value is null || Count(value) == 0 || open.Contains(value)) { Add(1); return; }
            if (sizes.TryGetValue(value, out var known)) { Add(known); return; }
            open.Add(value);
            stack.Push((value, 0, 1));
        }

        void Add(long size)
        {
            if (stack.Count == 0) { result = size; return; }
            var (node, next, total) = stack.Pop();
            stack.Push((node, next, total > long.MaxValue - size ? long.MaxValue : total + size));
        }
    }

    // Children by index, so the walk allocates no enumerator per node.
    static int Count(object node) => node switch
    {
        PyTuple t => t.Count,
        PyList l => l.Count,
        PySet s => s.Count,
        PyDict d => 2 * d.Count,
        PyObject => 5,
        _ => 0,
    };

    static object? Child(object node, int i) => node switch
    {
        PyTuple t => t[i],
        PyList l => l[i],
        PySet s => s[i],
        PyDict d => d.EntryAt(i / 2) is var kv && i % 2 == 0 ? kv.Key : kv.Value,
        PyObject o => i switch { 0 => o.Args, 1 => o.Kwargs, 2 => o.State, 3 => o.ListItems, _ => o.DictItems },
        _ => null,
    };
}
