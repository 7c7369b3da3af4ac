using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;

namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// DeepSpeed Universal Checkpoints (formats.md §4.3; deepspeed/checkpoint/ds_to_universal.py writes them): a folder
/// with copies of the model-states files and `zero/&lt;param&gt;/{fp32,exp_avg,exp_avg_sq,step}.pt`, each parameter already
/// consolidated. `fp32.pt` becomes the tensor under the parameter's name, any other state `&lt;key&gt;.pt` becomes
/// `optimizer.state.&lt;param&gt;.&lt;key&gt;` (`step.pt` is a scalar and is left out); `shared_params` aliases without a folder of
/// their own point at their source. Each file is either `{param, cat_dim?, vocab_tensor?, ...}` (ZeRO-1/2 path) or a
/// bare flat tensor (ZeRO-3 path, given its shape back from `param_shapes`). `cat_dim` goes to the metadata.
/// Vocabulary padding: files with `vocab_tensor` were stripped by the converter and are read as they are; files from
/// before 0.3 carry `vocab_divisibility_padding_tensor` and still hold the padded rows, which are cut to
/// `universal_checkpoint_info.original_vocab_size` (kept as saved when that is not recorded).
/// Invariants, each a typed reason:
/// - the root's `latest_universal` names the folder (one path segment), or the root is it; it holds
///   `mp_rank_00_model_states.pt` or `zero_pp_rank_0_mp_rank_00_model_states.pt` (MissingFile);
/// - every trainable parameter of `param_shapes` has `zero/&lt;param&gt;/fp32.pt` (MissingFile);
/// - each state file holds a tensor or a dict with a `param` tensor (MetadataInvalid), whose storage bounds hold.
/// A root that also has DeepSpeed's `latest` opens as the ZeRO checkpoint (<see cref="DeepSpeedZeroFormat"/> runs first).
/// </summary>
public sealed class UniversalCheckpointFormat : ICheckpointFormat
{
    public const string LatestFile = "latest_universal";

    public string Name => "deepspeed-ucp";
    public int Priority => 21;

    public bool Matches(ICheckpointStorage storage, string entry)
    {
        if (entry.Length != 0) return false;
        if (storage.Exists(LatestFile)) return true; // a tracker naming nothing useful is this format's error to report
        return storage.Exists("zero/optimizer_state.pt") && ModelStatesFile(storage, "") is not null;
    }

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var folder = DeepSpeedZeroFormat.TagFolder(storage, LatestFile) ?? "";
        string InFolder(string name) => folder.Length == 0 ? name : $"{folder}/{name}";
        var modelFile = ModelStatesFile(storage, folder) ?? throw new CheckpointFormatException(FormatErrorReason.MissingFile,
            InFolder("mp_rank_00_model_states.pt"), null, "a Universal Checkpoint folder keeps a copy of the model-states file",
            expected: "mp_rank_00_model_states.pt or zero_pp_rank_0_mp_rank_00_model_states.pt");
        var model = ZeroModelStates.Read(DeepSpeedFile.Open(storage, modelFile, "model-states"));
        var info = model.File.Get("universal_checkpoint_info") as PyDict;
        long? originalVocab = DeepSpeedFile.AsLong(info?.Get("original_vocab_size"));
        var shapes = model.Trainable.Concat(model.Frozen).GroupBy(p => p.Name).ToDictionary(g => g.Key, g => g.First().Shape, StringComparer.Ordinal);
        var required = model.Trainable.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var names = model.Trainable.Concat(model.Frozen).Select(p => p.Name)
            .Concat(model.Module.Keys.OfType<string>()).Distinct(StringComparer.Ordinal).ToArray();

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (folder.Length > 0) metadata["deepspeed.tag"] = folder;
        if (model.Version is { } v) metadata["deepspeed.version"] = v;
        foreach (var (key, value) in info ?? new PyDict())
            if (key is string k && value is string or long or double or bool)
                metadata[$"deepspeed.ucp.{k}"] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!;

        var tensors = new ZeroTensorSet();
        var files = new List<StorageFile> { model.File.ToStorageFile(storage) };
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var dir = InFolder($"zero/{name}");
            var fp32 = $"{dir}/fp32.pt";
            var present = storage.List(dir);
            if (!present.Contains(fp32))
            {
                if (!required.Contains(name)) continue;
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, fp32, name,
                    present.Count == 0 ? "the parameter has no folder in zero/" : "the parameter's folder has no fp32.pt",
                    expected: "fp32.pt", found: present.Count == 0 ? "no folder" : string.Join(", ", present.Select(Path.GetFileName)));
            }
            foreach (var file in present.Where(f => f.EndsWith(".pt", StringComparison.Ordinal)).OrderBy(f => f != fp32).ThenBy(f => f, StringComparer.Ordinal))
            {
                var state = Path.GetFileNameWithoutExtension(file);
                if (state == "step") continue;
                var target = state == "fp32" ? name : $"optimizer.state.{name}.{state}";
                tensors.Add(ReadState(storage, file, target, shapes.GetValueOrDefault(name), originalVocab, metadata), file);
                files.Add(new StorageFile(file, storage.Length(file)));
            }
        }
        foreach (var (alias, source) in model.Shared)
            if (!tensors.Contains(alias)) tensors.Alias(alias, source);

        return new CheckpointManifest
        {
            Format = Name,
            Framework = "deepspeed",
            Layout = new ParallelLayout(1, [1], "DeepSpeed Universal Checkpoint (consolidated per parameter)"),
            Metadata = metadata,
            Tensors = tensors.ToEntries(),
            Objects = StateDictFlattener.Flatten(model.File.Root, model.File.Locator).Objects,
            Files = files,
        };
    }

    static TensorEntry ReadState(ICheckpointStorage storage, string file, string target, IReadOnlyList<long>? shape, long? originalVocab,
        Dictionary<string, string> metadata)
    {
        var (root, locator) = DeepSpeedFile.Load(storage, file, "Universal Checkpoint state");
        var dict = root as PyDict;
        var param = (dict is null ? root : dict.Get("param")) as TorchTensor ?? throw new CheckpointFormatException(
            FormatErrorReason.MetadataInvalid, file, target, "a Universal Checkpoint state file holds a tensor or a dict with a 'param' tensor",
            expected: "{param: tensor, ...} or a tensor", found: dict is null ? PyRepr.TypeName(root) : $"keys {string.Join(", ", dict.Keys.Select(PyRepr.Of))}");
        var fragment = locator.ToFragment(param, target);
        IReadOnlyList<long> global = param.Shape;

        // The ZeRO-3 path saves the parameter flat; param_shapes gives its shape back.
        if (dict is null && param.Shape.Count == 1 && shape is not null && shape.Count != 1
            && Shapes.ElementCount(shape) == param.Shape[0] && (param.Strides[0] == 1 || param.Shape[0] <= 1))
        {
            global = shape;
            fragment = new Fragment(new long[shape.Count], shape.ToArray(), fragment.Payload, Shapes.ContiguousStrides(shape), param.StorageOffset);
        }
        if (dict?.Get("cat_dim") is { } catDim && DeepSpeedFile.AsLong(catDim) is { } dim && !target.StartsWith("optimizer.", StringComparison.Ordinal))
            metadata[$"deepspeed.ucp.cat_dim.{target}"] = dim.ToString();
        if (dict?.ContainsKey("vocab_divisibility_padding_tensor") == true && originalVocab is { } vocab && global.Count >= 1 && global[0] > vocab)
        {
            var lengths = global.ToArray();
            lengths[0] = vocab;
            global = lengths;
            fragment = fragment with { Lengths = lengths };
        }
        return new TensorEntry(target, param.Storage.DType, global.ToArray(), [fragment]);
    }

    static string? ModelStatesFile(ICheckpointStorage storage, string folder)
    {
        foreach (var name in new[] { "mp_rank_00_model_states.pt", "zero_pp_rank_0_mp_rank_00_model_states.pt" })
        {
            var path = folder.Length == 0 ? name : $"{folder}/{name}";
            if (storage.Exists(path)) return path;
        }
        return null;
    }
}
