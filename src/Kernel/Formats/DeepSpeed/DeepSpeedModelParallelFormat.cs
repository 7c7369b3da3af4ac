using System.Text.RegularExpressions;
using Ckpt.Formats.Megatron;
using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;
using Ckpt.Resharding;

namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// DeepSpeed tensor-parallel and pipeline-parallel model states (microsoft/DeepSpeed runtime/engine.py `_get_ckpt_name`,
/// `_save_checkpoint`; runtime/pipe/module.py `ckpt_layer_path`, `save_state_dict`), consolidated into whole tensors
/// without reading tensor bytes:
/// - tensor parallel: `mp_rank_{r:02d}_model_states.pt` for r = 0 … `mp_world_size` − 1, each `module` that rank's slice of
///   the model's state dict; names are the module's;
/// - pipeline parallel: one file per layer and TP rank, `layer_{idx:02d}-model_{r:02d}-model_states.pt`
///   (`layer_{idx:02d}-model_states.pt` without tensor parallelism), each that layer's own state dict; names are
///   `{idx}.{key}`, as PipelineModule's state_dict names its layers. The `mp_rank_*` files then hold `module` None and
///   only the engine's state, read from rank 0 as values.
/// Slices merge by <see cref="DeepSpeedTensorParallel"/>'s name rules (`args.swiglu` from Megatron-DeepSpeed's client
/// state picks the gated fc1 split). Invariants, each a typed reason: the root's `latest` names the tag folder, or the
/// root is that folder; every TP rank's file of every layer exists (MissingFile); ranks hold the same names with shapes
/// that agree off the split dimension, replicated ones equal (MetadataInvalid); a name no rule knows is refused by name
/// when there is more than one TP rank (Unsupported). The ZeRO-1/2 optimizer partitions beside them
/// (`[bf16_]zero_pp_rank_D_mp_rank_MM_optim_states.pt`) are consolidated by <see cref="ModelParallelZeroStates"/>.
/// </summary>
public sealed class DeepSpeedModelParallelFormat : ICheckpointFormat
{
    static readonly Regex ModelFile = new(@"^mp_rank_(\d{2,})_model_states\.pt$", RegexOptions.CultureInvariant);
    static readonly Regex Zero3ModelFile = new(@"^zero_pp_rank_(\d+)_mp_rank_(\d{2,})_model_states\.pt$", RegexOptions.CultureInvariant);
    static readonly Regex LayerFile = new(@"^layer_(\d{2,})(?:-model_(\d{2,}))?-model_states\.pt$", RegexOptions.CultureInvariant);

    public string Name => "deepspeed-mp";
    /// <summary>Before ZeRO's reader, which reads only mp_rank 00 and refuses the rest.</summary>
    public int Priority => 19;

    public bool Matches(ICheckpointStorage storage, string entry)
    {
        if (entry.Length != 0) return false;
        try
        {
            var names = storage.List(DeepSpeedZeroFormat.TagFolder(storage, DeepSpeedZeroFormat.LatestFile) ?? "").Select(Path.GetFileName).ToArray();
            return names.Any(n => LayerFile.IsMatch(n!))
                || names.Any(n => ModelFile.Match(n!) is { Success: true } m && int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) > 0)
                || names.Any(n => Zero3ModelFile.Match(n!) is { Success: true } z && int.Parse(z.Groups[2].Value, CultureInfo.InvariantCulture) > 0);
        }
        catch (CheckpointFormatException) { return false; }
    }

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var folder = DeepSpeedZeroFormat.TagFolder(storage, DeepSpeedZeroFormat.LatestFile) ?? "";
        string In(string name) => folder.Length == 0 ? name : $"{folder}/{name}";
        var names = storage.List(folder).Select(f => Path.GetFileName(f)!).ToArray();
        var layers = names.Select(n => LayerFile.Match(n)).Where(m => m.Success).ToArray();
        var rank0File = In("mp_rank_00_model_states.pt");
        var rank0 = storage.Exists(rank0File) ? TorchSaveFile.Read(storage, rank0File) : null;
        // ZeRO-3 writes zero_pp_rank_D_mp_rank_MM_model_states.pt (parameters as placeholders) instead of mp_rank_MM_*.
        bool zero3 = layers.Length == 0 && rank0 is null && names.Any(n => Zero3ModelFile.IsMatch(n));
        if (zero3)
        {
            rank0File = In("zero_pp_rank_0_mp_rank_00_model_states.pt");
            rank0 = storage.Exists(rank0File) ? TorchSaveFile.Read(storage, rank0File) : null;
        }
        bool swiglu = (rank0?.Objects.FirstOrDefault(o => o.Name == "args")?.Value as PyObject)?.State is PyDict args && args.Get("swiglu") is true;

        var tensors = new List<TensorEntry>();
        var files = new List<StorageFile>();
        int tpSize;
        string description;
        if (layers.Length > 0)
        {
            if (layers.Any(m => m.Groups[2].Success) && layers.Any(m => !m.Groups[2].Success))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, In(layers.First(m => !m.Groups[2].Success).Value), null,
                    "some layer files name a tensor-parallel rank and some do not", expected: "layer_XX-model_RR-model_states.pt throughout");
            var byLayer = layers.GroupBy(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).OrderBy(g => g.Key).ToArray();
            tpSize = layers.Select(m => m.Groups[2].Success ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) + 1 : 1).Max();
            foreach (var layer in byLayer)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var width = layer.First().Groups[1].Value.Length;
                var paths = Enumerable.Range(0, tpSize).Select(r => In(tpSize == 1 && !layer.First().Groups[2].Success
                    ? $"layer_{layer.Key.ToString(new string('0', width), CultureInfo.InvariantCulture)}-model_states.pt"
                    : $"layer_{layer.Key.ToString(new string('0', width), CultureInfo.InvariantCulture)}-model_{r:00}-model_states.pt")).ToArray();
                Consolidate(storage, paths, $"{layer.Key}.", "", swiglu, tensors, files, $"layer {layer.Key}");
            }
            int modelRanks = names.Count(n => ModelFile.IsMatch(n));
            description = $"DeepSpeed pipeline: {byLayer.Length} layer files × TP {tpSize}" + (modelRanks > 0 ? $", {modelRanks} model ranks" : "");
        }
        else
        {
            if (rank0 is null)
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, rank0File, null, "tensor-parallel rank 0's model-states file is missing");
            var declared = rank0.Objects.FirstOrDefault(o => o.Name == "mp_world_size")?.Value;
            tpSize = declared is long or int ? Convert.ToInt32(declared, CultureInfo.InvariantCulture) : names.Count(n => ModelFile.IsMatch(n));
            if (zero3 && declared is not (long or int))
                tpSize = names.Select(n => Zero3ModelFile.Match(n)).Where(m => m.Success).Select(m => m.Groups[2].Value).Distinct().Count();
            var extra = names.Where(n => (zero3 ? Zero3ModelFile.Match(n) is { Success: true } z && int.Parse(z.Groups[2].Value, CultureInfo.InvariantCulture) >= tpSize
                : ModelFile.Match(n) is { Success: true } m && int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) >= tpSize)).ToArray();
            if (extra.Length > 0)
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, In(extra[0]), null,
                    $"mp_world_size says {tpSize} tensor-parallel ranks but this file is beyond them", expected: $"mp_rank_00 … mp_rank_{tpSize - 1:00}");
            if (!zero3)
            {
                var paths = Enumerable.Range(0, tpSize).Select(r => In($"mp_rank_{r:00}_model_states.pt")).ToArray();
                Consolidate(storage, paths, "", "module.", swiglu, tensors, files, "the model");
            }
            description = $"DeepSpeed tensor parallel {tpSize}";
        }

        int ppSize = layers.Length > 0 ? Math.Max(1, names.Count(n => ModelFile.IsMatch(n)) / tpSize) : 1;
        var zero = ModelParallelZeroStates.Consolidate(storage, In, names, tpSize, ppSize, layers.Length > 0, swiglu, zero3, tensors, files, cancellationToken);
        if (zero3 && zero is null)
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, In($"zero_pp_rank_0_mp_rank_00_optim_states.pt"), null,
                "a ZeRO-3 run keeps its weights only in the optimizer-state files, and there are none");
        if (zero is { } z) description += $", ZeRO-{z.Stage} optimizer over {z.World} DP ranks";

        var objects = rank0?.Objects.Where(o => o.Name != "module" && !o.Name.StartsWith("module.", StringComparison.Ordinal)).ToList() ?? [];
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["deepspeed.tensor_parallel"] = tpSize.ToString(CultureInfo.InvariantCulture),
            ["deepspeed.layout"] = layers.Length > 0 ? "pipeline layer files" : zero3 ? "ZeRO-3 rank model states" : "mp_rank model states",
            ["deepspeed.swiglu"] = swiglu ? "true" : "false",
        };
        if (zero is { } zs)
        {
            metadata["deepspeed.zero_stage"] = zs.Stage.ToString(CultureInfo.InvariantCulture);
            metadata["deepspeed.dp_world_size"] = zs.World.ToString(CultureInfo.InvariantCulture);
        }
        if (folder.Length > 0) metadata["deepspeed.tag"] = folder;
        return new CheckpointManifest
        {
            Format = Name,
            Framework = "deepspeed",
            Layout = new ParallelLayout(tpSize, [tpSize], description),
            Metadata = metadata,
            Tensors = tensors,
            Objects = objects,
            Files = files,
        };
    }

    /// <summary>Merges the TP slices in <paramref name="paths"/> (rank order) of the tensors under <paramref name="under"/>, named <paramref name="prefix"/> + key.</summary>
    static void Consolidate(ICheckpointStorage storage, string[] paths, string prefix, string under, bool swiglu,
        List<TensorEntry> tensors, List<StorageFile> files, string what)
    {
        for (int r = 0; r < paths.Length; r++)
            if (!storage.Exists(paths[r]))
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, paths[r], null,
                    $"tensor-parallel rank {r} of {what} is missing", expected: $"{paths.Length} rank files");
        var ranks = paths.Select(p => TorchSaveFile.Read(storage, p)).ToArray();
        files.AddRange(ranks.Select(r => new StorageFile(r.File, storage.Length(r.File))));
        var local = ranks.Select(r => r.Tensors.Where(t => t.Name.StartsWith(under, StringComparison.Ordinal))
            .ToDictionary(t => t.Name[under.Length..], StringComparer.Ordinal)).ToArray();
        for (int r = 1; r < ranks.Length; r++)
            if (local[r].Keys.FirstOrDefault(k => !local[0].ContainsKey(k)) is { } odd)
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, ranks[r].File, odd,
                    $"TP rank {r} holds a parameter that TP rank 0 does not");
        foreach (var (key, first) in local[0])
        {
            var shards = new TensorEntry[ranks.Length];
            for (int r = 0; r < ranks.Length; r++)
                shards[r] = local[r].GetValueOrDefault(key) ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid,
                    ranks[r].File, key, $"TP rank {r} lacks a parameter that TP rank 0 holds");
            var split = ranks.Length == 1 ? TensorParallelSplit.Replicated
                : DeepSpeedTensorParallel.SplitOf(key, first.Rank, swiglu, ranks[0].File, prefix + key);
            if (split == TensorParallelSplit.Replicated && shards.FirstOrDefault(s => s.DType != first.DType || !s.Shape.SequenceEqual(first.Shape)) is { } differs)
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, ranks[Array.IndexOf(shards, differs)].File, prefix + key,
                    "a replicated parameter differs between TP ranks", expected: $"{first.DType} {first.ShapeText}", found: $"{differs.DType} {differs.ShapeText}");
            tensors.Add(MegatronLegacyFormat.Merge(prefix + key, shards, split, ranks[0].File));
        }
    }
}
