using Ckpt.Formats.Safetensors;
using Ckpt.Planning;

namespace Ckpt.Formats.TorchSave;

/// <summary>
/// Rebuilds a PyTorch optimizer's `state_dict()` from a checkpoint's flattened names, so that
/// <see cref="TorchSaveWriter.WriteObject"/> writes what `optimizer.load_state_dict(torch.load(f))` and
/// TorchSharp.PyBridge's `optimizer.load_py(f)` take. The shape is torch's (torch/optim/optimizer.py,
/// `Optimizer.state_dict`): `state` maps a parameter's integer index to its slots (`exp_avg`, `step`, ...) and
/// `param_groups` is a list of dicts whose `params` lists those indices. Flattening (<see cref="StateDictFlattener"/>)
/// keeps the names `{prefix}state.{i}.{slot}` and `{prefix}param_groups.{g}.{key}` but not which level was a list,
/// so the structure is restored from torch's definition rather than guessed from the names.
/// </summary>
public static class OptimizerStateDict
{
    /// <summary>The optimizer state under <paramref name="prefix"/> (e.g. `optimizer.`); tensors load when written.</summary>
    public static Dictionary<object, object?> From(Checkpoint checkpoint, string prefix = "", CancellationToken cancellationToken = default)
    {
        var state = new SortedDictionary<int, Dictionary<object, object?>>();
        var groups = new SortedDictionary<int, Dictionary<object, object?>>();
        void Add(string name, object? value)
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) return;
            var parts = name[prefix.Length..].Split('.', 3);
            if (parts.Length != 3 || parts[0] is not ("state" or "param_groups")
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var index)) return;
            var table = parts[0] == "state" ? state : groups;
            if (!table.TryGetValue(index, out var slots)) table[index] = slots = new Dictionary<object, object?>();
            slots[parts[2]] = value;
        }
        foreach (var t in checkpoint.Manifest.Tensors)
            Add(t.Name, new TensorSource(t.Name, t.DType, t.Shape,
                () => TensorReader.Read(checkpoint.Storage, t, null, 2, null, cancellationToken)));
        foreach (var o in checkpoint.Manifest.Objects) Add(o.Name, o.Value);
        if (groups.Count == 0)
            throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, checkpoint.Path, prefix + "param_groups",
                "the checkpoint holds no optimizer param_groups under this prefix");
        if (groups.Keys.Select((k, i) => k != i).Any(b => b))
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, checkpoint.Path, prefix + "param_groups",
                "the param groups are not numbered 0, 1, 2 ...", expected: $"0..{groups.Count - 1}", found: string.Join(",", groups.Keys));
        return new Dictionary<object, object?>
        {
            ["state"] = state.ToDictionary(kv => (object)kv.Key, kv => (object?)kv.Value),
            ["param_groups"] = groups.Values.Cast<object?>().ToList(),
        };
    }
}
