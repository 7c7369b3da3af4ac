using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;

namespace Ckpt.Formats.DeepSpeed;

/// <summary>A parameter as `param_shapes` / `frozen_param_shapes` name it.</summary>
sealed record ZeroParameter(string Name, IReadOnlyList<long> Shape)
{
    public long ElementCount => Shapes.ElementCount(Shape);
}

/// <summary>
/// What a `*_model_states.pt` says about the model (deepspeed/runtime/engine.py `_save_checkpoint`): `param_shapes`
/// (one ordered name→torch.Size dict per optimizer param group, in flat-buffer order), `frozen_param_shapes`,
/// `buffer_names`, `shared_params` (tied alias → source), `module` (the bit16 state dict; ZeRO-3 leaves empty
/// placeholders for parameters), `ds_version` and, in a Universal Checkpoint, `universal_checkpoint_info`.
/// </summary>
sealed class ZeroModelStates
{
    public required DeepSpeedFile File { get; init; }
    public required IReadOnlyList<IReadOnlyList<ZeroParameter>> Groups { get; init; }
    public required IReadOnlyList<ZeroParameter> Frozen { get; init; }
    public required IReadOnlySet<string> BufferNames { get; init; }
    public required IReadOnlyList<(string Alias, string Source)> Shared { get; init; }
    public required PyDict Module { get; init; }
    public string? Version { get; init; }

    public IEnumerable<ZeroParameter> Trainable => Groups.SelectMany(g => g);

    public static ZeroModelStates Read(DeepSpeedFile file)
    {
        var shapes = file.Require("param_shapes");
        IEnumerable<object?> groupDicts = shapes switch
        {
            PyDict single => [single],
            IReadOnlyList<object?> list => list,
            _ => throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file.File, null,
                "'param_shapes' is a list of name→shape dicts, one per param group", expected: "list of dicts", found: PyRepr.TypeName(shapes)),
        };
        var groups = groupDicts.Select((g, i) => Parameters(file, file.Require<PyDict>($"param_shapes[{i}]", g))).ToArray();
        var frozen = file.Get("frozen_param_shapes") is PyDict f ? Parameters(file, f) : [];
        var buffers = file.Get("buffer_names") is IReadOnlyList<object?> b ? b.OfType<string>().ToHashSet(StringComparer.Ordinal) : [];
        var shared = file.Get("shared_params") is PyDict s
            ? s.Where(kv => kv.Key is string && kv.Value is string).Select(kv => ((string)kv.Key, (string)kv.Value!)).ToArray()
            : [];
        var module = file.Get("module") as PyDict ?? new PyDict();
        return new ZeroModelStates
        {
            File = file,
            Groups = groups,
            Frozen = frozen,
            BufferNames = buffers,
            Shared = shared,
            Module = module,
            Version = file.Get("ds_version") as string,
        };
    }

    static ZeroParameter[] Parameters(DeepSpeedFile file, PyDict dict) =>
        dict.Select(kv => kv.Key is string name
            ? new ZeroParameter(name, file.RequireShape(name, kv.Value))
            : throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file.File, null,
                "a parameter name is not a string", expected: "str", found: PyRepr.Of(kv.Key))).ToArray();

    /// <summary>Module tensors that hold data: buffers under their own names, and the bit16 copies of parameters.</summary>
    public IEnumerable<(string Name, TorchTensor Tensor, bool IsBuffer)> ModuleTensors()
    {
        foreach (var (key, value) in Module)
            if (key is string name && value is TorchTensor t && (BufferNames.Contains(name) || Shapes.ElementCount(t.Shape) > 0))
                yield return (name, t, BufferNames.Contains(name));
    }

    public TensorEntry Whole(string name, TorchTensor tensor) =>
        new(name, tensor.Storage.DType, tensor.Shape.ToArray(), [File.Locator.ToFragment(tensor, name)]);
}
