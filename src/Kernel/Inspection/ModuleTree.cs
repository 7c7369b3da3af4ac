using Ckpt.Conversion;

namespace Ckpt.Inspection;

/// <summary>
/// Parameters grouped by module path (`model.layers.3.mlp.down_proj.weight` nests under `model`,
/// `model.layers`, `model.layers.3`, ...), each node with the bytes and element count below it and its
/// dtype (`mixed` when its tensors differ). Built from the manifest; reads no tensor bytes.
/// </summary>
public sealed record ModuleTree(IReadOnlyList<ModuleNode> Nodes, int Depth, int TensorCount)
{
    /// <summary>
    /// The tree cut at the deepest level that keeps at most <paramref name="maxNodes"/> nodes, so thousands of
    /// tensors become per-layer (or per-module) leaves instead of an unreadable treemap.
    /// </summary>
    public static ModuleTree Of(CheckpointManifest manifest, TensorFilter? filter = null, int maxNodes = 1500)
    {
        filter ??= TensorFilter.All;
        var tensors = manifest.Tensors.Where(t => filter.Includes(t.Name)).ToList();
        int fullDepth = tensors.Select(t => t.Name.Split('.').Length).DefaultIfEmpty(0).Max();
        int depth = fullDepth;
        while (depth > 1 && CountNodes(tensors, depth) > maxNodes) depth--;

        var nodes = new Dictionary<string, Accumulator>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var t in tensors)
        {
            var parts = t.Name.Split('.');
            int take = Math.Min(depth, parts.Length);
            for (int i = 1; i <= take; i++)
            {
                var id = string.Join('.', parts, 0, i);
                if (!nodes.TryGetValue(id, out var acc))
                {
                    acc = new Accumulator(id, parts[i - 1], i == 1 ? "" : string.Join('.', parts, 0, i - 1));
                    nodes[id] = acc;
                    order.Add(id);
                }
                acc.Add(t);
            }
        }
        var result = order.Select(id => nodes[id].ToNode()).ToList();
        return new ModuleTree(result, depth, tensors.Count);
    }

    static int CountNodes(List<TensorEntry> tensors, int depth)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            var parts = t.Name.Split('.');
            for (int i = 1; i <= Math.Min(depth, parts.Length); i++) ids.Add(string.Join('.', parts, 0, i));
        }
        return ids.Count;
    }

    sealed class Accumulator(string id, string label, string parent)
    {
        long _bytes, _elements;
        int _tensors;
        string? _dtype;

        public void Add(TensorEntry t)
        {
            _bytes += t.ByteCount;
            _elements += t.ElementCount;
            _tensors++;
            var d = t.DType.ToString();
            _dtype = _dtype is null || _dtype == d ? d : "mixed";
        }

        public ModuleNode ToNode() => new(id, label, parent, _bytes, _elements, _tensors, _dtype ?? "");
    }
}

/// <summary>One module-path node: id is the dotted path, parent "" for roots.</summary>
public sealed record ModuleNode(string Id, string Label, string Parent, long Bytes, long Elements, int Tensors, string DType);
