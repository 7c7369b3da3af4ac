using System.Text.RegularExpressions;
using Ckpt.Formats.Dcp;
using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;

namespace Ckpt.Formats.ByteCheckpoint;

/// <summary>
/// ByteCheckpoint v0.0.3 (formats.md §6; ByteDance-Seed/ByteCheckpoint `checkpointer/meta_type.py`,
/// `engine/store_engine.py`, `utilities/serialization.py`): `latest_checkpointed_iteration.txt` naming
/// `global_step_{N}/` (or that folder, or one of its parts, opened directly) with `model/` and `optimizer/`
/// (each a DCP-like `.metadata` + `__{r}_{k}.distcp`) and `extra_state/extra_state_rank_{r}.pt`.
/// The `.metadata` pickles `bytecheckpoint.checkpointer.meta_type.Metadata`; unlike DCP, a `.distcp` tensor item is the
/// chunk's raw storage bytes and the tensor's pickle (storage as the persistent id ('storage', type, key, location,
/// numel)) lives in `all_tensor_metadata`, so fragments point at the bytes with that pickle's strides and offset.
///
/// Names: `model/` tensors keep their names; FSDP flat parameters (`layers.0._flat_param`, from
/// save_decomposed_model_optimizer) become their parameters (`layers.0.attn.weight`), see <see cref="FsdpFlatParameter"/>;
/// `optimizer/` entries get `optimizer.` before their key, flat states split the same way
/// (`optimizer.state.layers.0.attn.weight.exp_avg`), `param_groups` is the object `optimizer.param_groups`;
/// extra state is objects `extra_state.rank_{r}.{key}` (its tensors listed as objects too, by dtype and shape).
/// A multi-role run (one save per role, each to its own `ckpt_path`, side by side: see <see cref="Roles"/>) opens from the
/// folder holding them as one checkpoint whose names are `<role>/<name>`; each role's folder alone is a single save.
///
/// Invariants, each a typed reason: the tracker holds an integer step (MetadataInvalid); each part's `.metadata` is a
/// restricted pickle of a Metadata (PickleInvalid, MetadataInvalid); chunks lie inside, do not overlap and cover their
/// tensor (OffsetOutOfBounds, OverlappingData, ChunksDoNotCoverTensor; flat parameters: per parameter); every chunk has
/// a storage_data entry and an all_tensor_metadata pickle (MetadataInvalid) of a tensor of the chunk's dtype and sizes
/// (MetadataInvalid) whose storage has the item's length (ByteLengthMismatch); files stay inside the folder
/// (PathEscapesCheckpoint), exist (MissingFile) and hold the item's range (Truncated); the FSDP metadata is consistent
/// (MetadataInvalid) and adds up to the flat shape (InvalidShape); a part folder with files but no `.metadata` is an
/// unfinished save (Incomplete).
/// </summary>
public sealed partial class ByteCheckpointFormat : ICheckpointFormat
{
    public const string Tracker = "latest_checkpointed_iteration.txt";
    const string ModelPart = "model", OptimizerPart = "optimizer", ExtraStatePart = "extra_state";
    const string MetadataFile = DcpFormat.MetadataFileName;

    public string Name => "bytecheckpoint";

    /// <summary>Before DCP (10), whose layout it shares.</summary>
    public int Priority => 5;

    public bool Matches(ICheckpointStorage storage, string entry)
    {
        try
        {
            if (entry.Length != 0)
                return Path.GetFileName(entry) == MetadataFile && IsByteCheckpoint(storage, entry);
            if (SaveAt(storage, "") is var (folder, _))
                return Parts(storage, folder).Count > 0 || Roles(storage, folder).Count > 0;
            return IsByteCheckpoint(storage, MetadataFile) || Roles(storage, "").Count > 0;
        }
        catch (CheckpointFormatException) { return false; }
    }

    static bool IsByteCheckpoint(ICheckpointStorage storage, string metadataFile)
    {
        if (!storage.Exists(metadataFile)) return false;
        var head = new byte[(int)Math.Min(256, storage.Length(metadataFile))];
        storage.Read(metadataFile, 0, head, IoCategory.Metadata);
        return System.Text.Encoding.ASCII.GetString(head).Contains("bytecheckpoint", StringComparison.Ordinal);
    }

    /// <summary>(part name, folder) of the `model/` and `optimizer/` parts present under <paramref name="folder"/>.</summary>
    static List<(string Part, string Folder)> Parts(ICheckpointStorage storage, string folder) =>
        new[] { ModelPart, OptimizerPart }.Select(p => (p, In(folder, p)))
            .Where(p => IsByteCheckpoint(storage, In(p.Item2, MetadataFile))).ToList();

    static string In(string folder, string name) => folder.Length == 0 ? name : $"{folder}/{name}";

    /// <summary>
    /// The folder one save wrote its parts to, from <paramref name="root"/> (the `ckpt_path` given to `bcp.save`), and the
    /// tracker that named it: `global_step_N/` where the tracker says N (or <paramref name="root"/> itself where the parts
    /// lie beside the tracker, as `ignore_append_global_steps_to_folder=True` writes); null where there is neither a
    /// tracker nor a part.
    /// </summary>
    static (string Folder, string? Tracker)? SaveAt(ICheckpointStorage storage, string root)
    {
        var tracker = In(root, Tracker);
        if (storage.Exists(tracker))
        {
            var step = In(root, StepFolder(storage, tracker));
            return Parts(storage, step).Count == 0 && Parts(storage, root).Count > 0 ? (root, tracker) : (step, tracker);
        }
        return Parts(storage, root).Count > 0 ? (root, null) : null;
    }

    /// <summary>
    /// The roles under <paramref name="folder"/>: sub-folders (not a part) that are each a whole save, a tracker or
    /// parts. ByteCheckpoint saves one role per `bcp.save` call (its `role` argument names the engine's I/O resources,
    /// not a folder), so several models of one run (PPO's actor and critic, a distillation's teacher and student) are
    /// several saves side by side, each to its own `ckpt_path`. `global_step_N/` folders are steps, not roles.
    /// </summary>
    static IReadOnlyList<string> Roles(ICheckpointStorage storage, string folder) =>
        storage.Folders(folder)
            .Where(f => Path.GetFileName(f) is not (ModelPart or OptimizerPart or ExtraStatePart) && !StepFolderName().IsMatch(Path.GetFileName(f)))
            .Where(f => storage.Exists(In(f, Tracker)) || Parts(storage, f).Count > 0).ToArray();

    static string StepFolder(ICheckpointStorage storage, string tracker)
    {
        var buffer = new byte[(int)Math.Min(storage.Length(tracker), 64)];
        storage.Read(tracker, 0, buffer, IoCategory.Metadata);
        var text = System.Text.Encoding.ASCII.GetString(buffer).Trim();
        return long.TryParse(text, out var step) && step >= 0 ? $"global_step_{step}"
            : throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, tracker, null,
                "the tracker does not hold a step number", expected: "an integer", found: text);
    }

    /// <summary>One save's entries, names as a lone save has them; files relative to the storage root.</summary>
    sealed record SaveContents(List<TensorEntry> Tensors, List<ObjectEntry> Objects, List<StorageFile> Files, HashSet<int> Ranks,
        Dictionary<string, string> Metadata, int FlatUnits, int FlatMembers);

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var saves = new List<(string Role, SaveContents Contents)>();
        if (entry.Length != 0 || (!storage.Exists(Tracker) && Parts(storage, "").Count == 0 && Roles(storage, "").Count == 0))
        {
            // One part opened on its own: its folder name says which (a model unless it is called optimizer).
            var folder = entry.Length == 0 ? "" : Path.GetDirectoryName(entry)?.Replace('\\', '/') ?? "";
            var name = Path.GetFileName((folder.Length == 0 ? storage.Root : folder).TrimEnd('/', '\\'));
            saves.Add(("", ReadSave(storage, folder, [(name == OptimizerPart ? OptimizerPart : ModelPart, folder)], null, cancellationToken)));
        }
        else
        {
            var (folder, tracker) = SaveAt(storage, "") ?? ("", null);
            var roles = Parts(storage, folder).Count == 0 && !HasUnfinishedPart(storage, folder) ? Roles(storage, folder) : [];
            if (roles.Count == 0)
                saves.Add(("", ReadSave(storage, folder, CheckedParts(storage, folder, tracker), tracker, cancellationToken)));
            foreach (var role in roles)
            {
                var (roleFolder, roleTracker) = SaveAt(storage, role) ?? (role, null);
                var name = folder.Length == 0 ? role : role[(folder.Length + 1)..];
                saves.Add((name, ReadSave(storage, roleFolder, CheckedParts(storage, roleFolder, roleTracker), roleTracker, cancellationToken)));
            }
            if (roles.Count > 0 && tracker is not null) saves[0].Contents.Files.Add(new StorageFile(tracker, storage.Length(tracker)));
        }

        var nested = saves.Count > 1 || saves[0].Role.Length > 0;
        string Named(string role, string name) => role.Length == 0 ? name : $"{role}/{name}";
        var tensors = saves.SelectMany(s => s.Contents.Tensors.Select(t => t with { Name = Named(s.Role, t.Name) })).ToList();
        var objects = saves.SelectMany(s => s.Contents.Objects.Select(o => o with { Name = Named(s.Role, o.Name) })).ToList();
        var files = saves.SelectMany(s => s.Contents.Files).ToList();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (role, contents) in saves)
            foreach (var (key, value) in contents.Metadata)
                if (key == "bytecheckpoint.version") metadata.TryAdd(key, value);
                else metadata[role.Length == 0 ? key : key.Replace("bytecheckpoint.", $"bytecheckpoint.{role}.", StringComparison.Ordinal)] = value;
        if (nested) metadata["bytecheckpoint.roles"] = string.Join(", ", saves.Select(s => s.Role));

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
            if (!seen.Add(t.Name))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, files[0].Path, t.Name,
                    "two entries (a flat parameter's member and a saved tensor) have this name");

        var ranks = saves.SelectMany(s => s.Contents.Ranks).ToArray();
        int world = ranks.Length == 0 ? 1 : ranks.Max() + 1;
        int units = saves.Sum(s => s.Contents.FlatUnits), members = saves.Sum(s => s.Contents.FlatMembers);
        var description = $"{world} ranks" + (nested ? $"; {saves.Count} roles ({metadata["bytecheckpoint.roles"]})" : "")
            + (units > 0 ? $"; FSDP flat parameters: {units} units split into {members} parameters" : "");
        return new CheckpointManifest
        {
            Format = Name,
            Framework = units > 0 ? "fsdp" : "unknown",
            Layout = new ParallelLayout(world, [world], description),
            Metadata = metadata,
            Tensors = tensors,
            Objects = objects,
            Files = files,
        };
    }

    /// <summary>A part folder with files but no `.metadata`: save_state_dict.finish renames .metadata.tmp last.</summary>
    static bool HasUnfinishedPart(ICheckpointStorage storage, string folder) =>
        new[] { ModelPart, OptimizerPart }.Any(p => !IsByteCheckpoint(storage, In(In(folder, p), MetadataFile)) && storage.List(In(folder, p)).Count > 0);

    /// <summary>The parts of the save in <paramref name="folder"/>, refusing an unfinished one or a tracker naming nothing.</summary>
    static List<(string Part, string Folder)> CheckedParts(ICheckpointStorage storage, string folder, string? tracker)
    {
        var parts = Parts(storage, folder);
        foreach (var part in new[] { ModelPart, OptimizerPart })
            if (!parts.Any(p => p.Part == part) && storage.List(In(folder, part)).Count > 0)
                throw new CheckpointFormatException(FormatErrorReason.Incomplete, In(folder, In(part, MetadataFile)), null,
                    $"the {part}/ folder has data files but no .metadata, so its save did not finish");
        if (parts.Count == 0)
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, In(folder, In(ModelPart, MetadataFile)), null,
                $"the tracker {tracker ?? Tracker} names {folder}, which has neither model/.metadata nor optimizer/.metadata");
        return parts;
    }

    /// <summary>One save's parts (the model first: its user_defined_dict describes the flat parameters the optimizer's
    /// states follow), its extra state and its tracker.</summary>
    SaveContents ReadSave(ICheckpointStorage storage, string folder, List<(string Part, string Folder)> parts, string? tracker, CancellationToken cancellationToken)
    {
        var tensors = new List<TensorEntry>();
        var objects = new List<ObjectEntry>();
        var files = new List<StorageFile>();
        var ranks = new HashSet<int>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (folder.Length > 0) metadata["bytecheckpoint.step_folder"] = folder;
        Dictionary<string, FsdpFlatParameter> flat = new(StringComparer.Ordinal);
        foreach (var (part, partFolder) in parts.OrderBy(p => p.Part == ModelPart ? 0 : 1))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var read = ByteCheckpointPart.Read(storage, partFolder, cancellationToken);
            var own = FsdpFlatParameter.Read(read.MetadataFile, read.Meta.Extra.GetValueOrDefault("user_defined_dict"));
            foreach (var (k, v) in own) flat[k] = v;
            if (read.Meta.Extra.GetValueOrDefault("bytecheckpoint_version") is string version) metadata["bytecheckpoint.version"] = version;
            string prefix = part == OptimizerPart ? "optimizer." : "";
            foreach (var t in read.Tensors)
            {
                if (t.Rank == 1 && FlatOf(t.Name, part, flat) is var (p, state) && p is not null)
                {
                    var split = p.Split(t, m => state is null ? m.Name : $"{prefix}state.{m.Name}.{state}", read.MetadataFile).ToArray();
                    tensors.AddRange(split);
                }
                else
                {
                    DcpChunkValidation.Check(read.MetadataFile, t.Name,
                        new DcpTensorItem(t.DType, t.Shape, t.Fragments.Select(f => new DcpChunk(f.Offsets, f.Lengths)).ToArray()));
                    tensors.Add(t with { Name = prefix + t.Name });
                }
            }
            objects.AddRange(read.Objects.Select(o => o with { Name = prefix + o.Name }));
            files.Add(new StorageFile(read.MetadataFile, storage.Length(read.MetadataFile)));
            files.AddRange(read.DataFiles.Select(f => new StorageFile(f.Key, f.Value)));
            foreach (var f in read.DataFiles.Keys)
                if (DcpStoragePath.WriterRank(f) is { } r) ranks.Add(r);
            metadata[$"bytecheckpoint.{part}.items"] = read.Meta.StateDict.Count.ToString();
        }

        foreach (var file in storage.List(In(folder, ExtraStatePart)))
        {
            var m = ExtraStateFile().Match(Path.GetFileName(file));
            if (!m.Success) continue;
            int rank = int.Parse(m.Groups[1].Value);
            ranks.Add(rank);
            var extra = TorchSaveFile.Read(storage, file);
            var head = $"extra_state.rank_{rank}.";
            objects.AddRange(extra.Objects.Select(o => o with { Name = head + o.Name }));
            objects.AddRange(extra.Tensors.Select(t => new ObjectEntry(head + t.Name, "tensor", $"{t.DType} {t.ShapeText}", file)));
            files.Add(new StorageFile(file, storage.Length(file)));
        }
        if (tracker is not null) files.Add(new StorageFile(tracker, storage.Length(tracker)));
        return new SaveContents(tensors, objects, files, ranks, metadata, flat.Count, flat.Values.Sum(f => f.Members.Count));
    }

    /// <summary>
    /// The flat parameter a tensor is, or whose optimizer state it is (`state.&lt;key&gt;.&lt;state&gt;`), with that
    /// state's name; (null, null) for any other tensor.
    /// </summary>
    static (FsdpFlatParameter? Flat, string? State) FlatOf(string name, string part, Dictionary<string, FsdpFlatParameter> flat)
    {
        if (part == ModelPart) return (flat.GetValueOrDefault(name), null);
        if (!name.StartsWith("state.", StringComparison.Ordinal)) return (null, null);
        foreach (var (key, p) in flat)
            if (name.Length > 6 + key.Length + 1 && name.AsSpan(6).StartsWith(key, StringComparison.Ordinal) && name[6 + key.Length] == '.')
                return (p, name[(6 + key.Length + 1)..]);
        return (null, null);
    }

    /// <summary>Steps of one run (`global_step_N/` without the tracker) are a checkpoint set, never roles.</summary>
    [GeneratedRegex(@"^global_step_\d+$")]
    private static partial Regex StepFolderName();

    [GeneratedRegex(@"^extra_state_rank_(\d+)\.pt$")]
    private static partial Regex ExtraStateFile();
}
