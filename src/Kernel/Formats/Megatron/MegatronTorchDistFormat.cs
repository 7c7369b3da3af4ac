using Ckpt.Formats.Dcp;
using Ckpt.Formats.Text;
using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;

namespace Ckpt.Formats.Megatron;

/// <summary>
/// Megatron-Core dist_checkpointing with the torch_dist backend (`--ckpt-format torch_dist`; formats.md §5.2,
/// NVIDIA/Megatron-LM `megatron/core/dist_checkpointing/core.py`, `strategies/torch.py`, `strategies/common.py`):
/// `latest_checkpointed_iteration.txt` at the root naming `iter_{:07d}/` (or that folder opened directly), which holds
/// `metadata.json`, `common.pt` and a PyTorch DCP (`.metadata` + `__{r}_{k}.distcp`, read by <see cref="DcpFormat"/>).
///
/// Names users see:
/// - layer-stacked tensors (`decoder.layers.self_attention.linear_qkv.weight`, global shape [num_layers, ...]) become
///   one tensor per layer with a global layer number, `decoder.layers.3.self_attention.linear_qkv.weight`, the names
///   the legacy reader and Megatron's HF converters use; the same applies wherever a `layers` segment is followed by a
///   parameter name (`optimizer.state.exp_avg.decoder.layers.3.…`). Expert axes stay leading dims of each layer's tensor;
/// - every other tensor keeps its DCP key (`embedding.word_embeddings.weight`, `output_layer.weight`);
/// - DCP bytes items (ShardedObjects such as `rng_state/shard_0.1_1.2`, TE `_extra_state/shard_…`) keep their keys;
///   `common.pt` entries are flattened as torch.save files are (`args`, `iteration`, `optimizer.param_groups.0.lr`),
///   the names the legacy reader gives the same values.
///
/// Invariants, each a typed reason: the tracker names an iteration (MetadataInvalid); the folder has `metadata.json`
/// (MissingFile) that is JSON (MetadataInvalid) naming `sharded_backend` torch_dist (Unsupported: zarr was removed
/// from Megatron-Core in 2026); `common.pt`, when present, is a torch.save file (its reader's reasons); every DCP invariant holds (<see cref="DcpFormat"/>);
/// a stacked tensor's leading axis has `args.num_layers` entries, or, without args, as many as the other stacks of
/// its module (InvalidShape); a per-layer name does not collide with a saved one (MetadataInvalid); stacked chunks are
/// raw, not zstd (Unsupported).
/// </summary>
public sealed class MegatronTorchDistFormat : ICheckpointFormat
{
    public const string BackendFile = "metadata.json";
    public const string CommonFile = "common.pt";
    public const string Backend = "torch_dist";

    public string Name => "megatron-torch_dist";

    /// <summary>Before DCP (10): the iteration folder is a DCP, and metadata.json says whose.</summary>
    public int Priority => 5;

    public bool Matches(ICheckpointStorage storage, string entry)
    {
        try { return IterationFolder(storage, entry) is not null; }
        catch (CheckpointFormatException) { return false; }
    }

    /// <summary>
    /// The iteration folder at <paramref name="entry"/> when it looks like dist_checkpointing: `metadata.json` naming
    /// a sharded backend, or a DCP `.metadata` beside `common.pt`, or a tracker naming a folder with either file.
    /// </summary>
    static string? IterationFolder(ICheckpointStorage storage, string entry)
    {
        string folder;
        if (entry.Length == 0)
        {
            if (storage.Exists(MegatronLegacyFormat.Tracker))
            {
                folder = MegatronLegacyFormat.IterationFolder(storage)!;
                return storage.Exists(In(folder, DcpFormat.MetadataFileName)) || storage.Exists(In(folder, BackendFile))
                    || storage.Exists(In(folder, CommonFile)) ? folder : null;
            }
            folder = "";
        }
        else
        {
            var name = Path.GetFileName(entry);
            if (name != BackendFile && name != DcpFormat.MetadataFileName && name != CommonFile) return null;
            folder = Path.GetDirectoryName(entry)?.Replace('\\', '/') ?? "";
        }
        if (NamesShardedBackend(storage, In(folder, BackendFile))) return folder;
        return storage.Exists(In(folder, DcpFormat.MetadataFileName)) && storage.Exists(In(folder, CommonFile)) ? folder : null;
    }

    static bool NamesShardedBackend(ICheckpointStorage storage, string file)
    {
        if (!storage.Exists(file) || storage.Length(file) > 64 * 1024) return false;
        var bytes = new byte[storage.Length(file)];
        storage.Read(file, 0, bytes, IoCategory.Metadata);
        return System.Text.Encoding.UTF8.GetString(bytes).Contains("\"sharded_backend\"", StringComparison.Ordinal);
    }

    static string In(string folder, string name) => folder.Length == 0 ? name : $"{folder}/{name}";

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var folder = entry.Length == 0 && storage.Exists(MegatronLegacyFormat.Tracker)
            ? MegatronLegacyFormat.IterationFolder(storage)!
            : entry.Length == 0 ? "" : Path.GetDirectoryName(entry)?.Replace('\\', '/') ?? "";
        var (backend, backendVersion) = ReadBackend(storage, In(folder, BackendFile));
        var commonPath = In(folder, CommonFile);
        var dcp = new DcpFormat().Describe(storage, folder, cancellationToken);
        // Megatron always writes common.pt; without it the sharded tensors are still whole, only args and counters are missing.
        var common = storage.Exists(commonPath) ? TorchSaveFile.Read(storage, commonPath) : null;
        var commonTensors = common?.Tensors ?? [];
        var commonObjects = common?.Objects ?? [];
        var args = commonObjects.FirstOrDefault(o => o.Name == "args")?.Value as PyObject;
        long? numLayers = ArgLong(args, "num_layers");
        var metadataFile = In(folder, DcpFormat.MetadataFileName);

        var tensors = new List<TensorEntry>();
        var stackLengths = new Dictionary<string, (long Length, string Tensor)>(StringComparer.Ordinal);
        int stacks = 0;
        foreach (var t in dcp.Tensors)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (LayerStack.Parse(t.Name) is not { } parts || t.Rank == 0) { tensors.Add(t); continue; }
            CheckStackLength(t, parts.Head, numLayers, stackLengths, metadataFile);
            tensors.AddRange(LayerStack.Split(t, parts));
            stacks++;
        }
        tensors.AddRange(commonTensors);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
            if (!seen.Add(t.Name))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, metadataFile, t.Name,
                    "a per-layer name of a stacked tensor is also saved as a tensor of its own");

        var metadata = new Dictionary<string, string>(dcp.Metadata, StringComparer.Ordinal)
        {
            ["megatron.sharded_backend"] = backend,
            ["megatron.layer_stacks"] = stacks.ToString(),
        };
        if (backendVersion is not null) metadata["megatron.sharded_backend_version"] = backendVersion;
        if (folder.Length > 0) metadata["megatron.iteration_folder"] = folder;
        if (numLayers is { } n) metadata["megatron.num_layers"] = n.ToString();
        if (common is null) metadata["megatron.common"] = "absent";
        int tp = (int)Math.Clamp(ArgLong(args, "tensor_model_parallel_size") ?? 1, 1, 1 << 20);
        int pp = (int)Math.Clamp(ArgLong(args, "pipeline_model_parallel_size") ?? 1, 1, 1 << 20);

        var files = dcp.Files.ToList();
        foreach (var extra in new[] { In(folder, BackendFile), commonPath, MegatronLegacyFormat.Tracker })
            if ((extra != MegatronLegacyFormat.Tracker || entry.Length == 0) && storage.Exists(extra))
                files.Add(new StorageFile(extra, storage.Length(extra)));
        return new CheckpointManifest
        {
            Format = Name,
            Framework = "megatron",
            Layout = new ParallelLayout(dcp.Layout.WorldSize, [pp, tp],
                $"Megatron TP {tp} × PP {pp}, {dcp.Layout.WorldSize} writer ranks; {stacks} layer stacks split into {numLayers?.ToString() ?? "their"} layers"),
            Metadata = metadata,
            Tensors = tensors,
            Objects = [.. dcp.Objects, .. commonObjects],
            Files = files,
        };
    }

    static (string Backend, string? Version) ReadBackend(ICheckpointStorage storage, string file)
    {
        if (!storage.Exists(file))
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, file, null,
                "the iteration folder has no metadata.json, so which dist_checkpointing backend wrote it is unknown",
                expected: $"metadata.json with sharded_backend \"{Backend}\"", found: "no file");
        var bytes = MetadataFile.ReadAll(storage, file, 64 * 1024, "metadata.json is larger than 64 KiB", empty: null);
        // System.Text.Json checks UTF-8 only when a string is read (and then throws InvalidOperationException).
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, null, "metadata.json is not valid UTF-8");
        try
        {
            using var doc = JsonLimits.Parse(bytes, file, FormatErrorReason.MetadataInvalid, maxDepth: 8);
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("sharded_backend", out var b) || b.ValueKind != JsonValueKind.String)
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, null,
                    "metadata.json has no sharded_backend string", expected: "{\"sharded_backend\": \"torch_dist\", ...}");
            var backend = b.GetString()!;
            if (backend != Backend)
                throw new CheckpointFormatException(FormatErrorReason.Unsupported, file, null,
                    $"metadata.json names the '{backend}' sharded backend; only torch_dist is read", expected: Backend, found: backend);
            var version = doc.RootElement.TryGetProperty("sharded_backend_version", out var v) ? v.GetRawText() : null;
            return (backend, version);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, null, $"metadata.json is not valid JSON ({e.Message.TrimEnd('.')})");
        }
    }

    /// <summary>
    /// Decoder stacks (`decoder.layers.`, optimizer states of them) must have args.num_layers entries; any other
    /// stack (an encoder's), or every stack when common.pt has no args, must agree with the first stack of its module.
    /// </summary>
    static void CheckStackLength(TensorEntry t, string head, long? numLayers, Dictionary<string, (long Length, string Tensor)> seen, string file)
    {
        long length = t.Shape[0];
        bool decoder = head.EndsWith("decoder.layers.", StringComparison.Ordinal) || head == "layers.";
        if (decoder && numLayers is { } n)
        {
            if (length != n)
                throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, t.Name,
                    $"its stacked layer axis has {length} entries but common.pt args.num_layers is {n}",
                    expected: $"{n} layers", found: $"{length} layers (shape {t.ShapeText})");
            return;
        }
        var module = head[..^"layers.".Length];
        var key = module.Contains("decoder.", StringComparison.Ordinal) || module.Length == 0 ? "decoder" : module;
        if (!seen.TryGetValue(key, out var first)) { seen[key] = (length, t.Name); return; }
        if (first.Length != length)
            throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, t.Name,
                $"its stacked layer axis has {length} entries but '{first.Tensor}' of the same stack has {first.Length}",
                expected: $"{first.Length} layers", found: $"{length} layers (shape {t.ShapeText})");
    }

    static long? ArgLong(PyObject? args, string key) => (args?.State as PyDict)?.Get(key) switch
    {
        long l => l,
        int i => i,
        _ => null,
    };
}
