using System.Text.RegularExpressions;
using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;

namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// DeepSpeed ZeRO stage 1, 2 and 3 checkpoints (formats.md §4.1-4.2; deepspeed/runtime/engine.py writes them,
/// deepspeed/utils/zero_to_fp32.py reads them back), described as consolidated tensors without reading tensor bytes:
/// every fp32 master weight is fragments pointing straight into the ranks' flat partitions in the zip members.
/// Names: the fp32 master weights, frozen parameters, buffers and `shared_params` aliases under their own names (what
/// zero_to_fp32 writes; buffers keep their saved dtype rather than being upcast), the model-states bit16 copies as
/// `module.&lt;name&gt;` (stages 1-2 only: ZeRO-3 saves placeholders), and flat optimizer states as
/// `optimizer.state.&lt;name&gt;.&lt;key&gt;` (Adam's `exp_avg`, `exp_avg_sq`).
/// Invariants, each a typed reason:
/// - the root's `latest` names a tag folder (one path segment), or the root is that folder; it holds
///   `[bf16_]zero_pp_rank_R_mp_rank_00_optim_states.pt` files (MetadataInvalid);
/// - `partition_count` (an int, or one per group, all equal) is the DP world size W: rank files 0..W-1 all exist
///   (MissingFile) and no other rank's does, and every rank file repeats W and the stage (MetadataInvalid);
/// - only mp_rank_00 (no tensor parallelism; <see cref="ModelParallelZeroStates"/> reads the rest through
///   deepspeed-mp) and stages 1-3 are read (Unsupported); a BF16_Optimizer dict, which records no `zero_stage`, is stage 1;
/// - stage 1/2: each group's partitions hold its `param_shapes` parameters, with at most alignment padding to a
///   multiple of 2×W beyond them; stage 3: each rank's flat groups hold Σ ceil(numel/W) elements (ChunksDoNotCoverTensor).
/// </summary>
public sealed class DeepSpeedZeroFormat : ICheckpointFormat
{
    public const string LatestFile = "latest";
    internal static readonly Regex OptimFile = new(@"^(bf16_|fp16_)?zero_pp_rank_(\d+)_mp_rank_(\d+)_optim_states\.pt$", RegexOptions.CultureInvariant);

    public string Name => "deepspeed-zero";
    public int Priority => 20;

    public bool Matches(ICheckpointStorage storage, string entry)
    {
        if (entry.Length != 0) return false;
        try { return storage.List(TagFolder(storage, LatestFile) ?? "").Any(f => OptimFile.IsMatch(Path.GetFileName(f))); }
        catch (CheckpointFormatException) { return false; }
    }

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var folder = TagFolder(storage, LatestFile) ?? "";
        string InFolder(string name) => folder.Length == 0 ? name : $"{folder}/{name}";
        var optimFiles = storage.List(folder).Select(f => (Path: f, Match: OptimFile.Match(Path.GetFileName(f)))).Where(f => f.Match.Success).ToArray();
        if (optimFiles.FirstOrDefault(f => f.Match.Groups[3].Value != "00") is { Path: not null } tp)
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, tp.Path, null,
                "tensor-parallel DeepSpeed checkpoints (mp_rank above 00) are read through their Universal Checkpoint (ds_to_universal.py)");
        var prefix = optimFiles.Select(f => f.Match.Groups[1].Value).FirstOrDefault() ?? "";
        var (ranks, world, stage) = OpenRanks(storage, r => InFolder($"{prefix}zero_pp_rank_{r}_mp_rank_00_optim_states.pt"),
            optimFiles.Select(f => (f.Path, int.Parse(f.Match.Groups[2].Value))).ToArray(), 3, cancellationToken);

        var modelFile = stage == 3 ? InFolder($"zero_pp_rank_0_mp_rank_00_model_states.pt") : InFolder("mp_rank_00_model_states.pt");
        var model = ZeroModelStates.Read(DeepSpeedFile.Open(storage, modelFile, "model-states"));
        var tensors = new ZeroTensorSet();
        var files = new List<StorageFile> { model.File.ToStorageFile(storage) };
        files.AddRange(ranks.Select(r => r.ToStorageFile(storage)));
        if (stage == 3)
        {
            ZeroStage3Partitions.Gather(model, ranks, world, tensors);
            if (model.Frozen.Count > 0)
            {
                var rankModels = new List<ZeroModelStates> { model };
                for (int r = 1; r < world; r++)
                    rankModels.Add(ZeroModelStates.Read(DeepSpeedFile.Open(storage, InFolder($"zero_pp_rank_{r}_mp_rank_00_model_states.pt"), $"rank-{r} model-states")));
                files.AddRange(rankModels.Skip(1).Select(m => m.File.ToStorageFile(storage)));
                ZeroStage3Partitions.GatherFrozen(rankModels, tensors);
            }
        }
        else
        {
            ZeroStage12Partitions.Gather(model, ranks, world, tensors);
            foreach (var p in model.Frozen)
                AddWholeFrozen(model, p, tensors);
        }
        foreach (var (name, tensor, isBuffer) in model.ModuleTensors())
        {
            if (isBuffer) tensors.Add(model.Whole(name, tensor), model.File.File);
            else if (stage < 3) tensors.Add(model.Whole("module." + name, tensor), model.File.File);
        }
        foreach (var (alias, source) in model.Shared)
            if (!tensors.Contains(alias)) tensors.Alias(alias, source);

        var objects = StateDictFlattener.Flatten(model.File.Root, model.File.Locator).Objects
            .Concat(StateDictFlattener.Flatten(ranks[0].Root, ranks[0].Locator).Objects.Where(o => o.Name.StartsWith("optimizer_state_dict.", StringComparison.Ordinal))).ToArray();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["deepspeed.zero_stage"] = stage.ToString(),
            ["deepspeed.dp_world_size"] = world.ToString(),
        };
        if (folder.Length > 0) metadata["deepspeed.tag"] = folder;
        if (model.Version is { } v) metadata["deepspeed.version"] = v;
        return new CheckpointManifest
        {
            Format = Name,
            Framework = "deepspeed",
            Layout = new ParallelLayout(world, [world], $"DeepSpeed ZeRO-{stage} over {world} data-parallel ranks"),
            Metadata = metadata,
            Tensors = tensors.ToEntries(),
            Objects = objects,
            Files = files,
        };
    }

    /// <summary>
    /// The DP rank files of one model-parallel rank, 0 … W − 1 with W its `partition_count`: each exists (MissingFile),
    /// repeats W and the stage (MetadataInvalid), and no file of a rank at or beyond W is present (MetadataInvalid).
    /// <paramref name="present"/> lists this MP rank's files and their DP ranks; stages above <paramref name="maxStage"/> are Unsupported.
    /// </summary>
    internal static (List<DeepSpeedFile> Ranks, int World, long Stage) OpenRanks(ICheckpointStorage storage, Func<int, string> rankFile,
        IReadOnlyList<(string Path, int Rank)> present, int maxStage, CancellationToken cancellationToken)
    {
        var rank0 = DeepSpeedFile.Open(storage, rankFile(0), "rank-0 optimizer-state");
        long stage = ZeroStage(rank0);
        if (stage < 1 || stage > maxStage)
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, rank0.File, null, $"only ZeRO stages 1 to {maxStage} are read here",
                expected: maxStage == 3 ? "1, 2 or 3" : "1 or 2", found: stage.ToString());
        int world = PartitionCount(rank0);
        var ranks = new List<DeepSpeedFile> { rank0 };
        for (int r = 1; r < world; r++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!storage.Exists(rankFile(r)))
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, rankFile(r), null,
                    $"DP rank {r}'s optimizer-state file is missing (partition_count is {world})",
                    expected: $"{world} rank files", found: $"ranks {string.Join(", ", present.Select(f => f.Rank).Order())}");
            var file = DeepSpeedFile.Open(storage, rankFile(r), $"rank-{r} optimizer-state");
            int count = PartitionCount(file);
            long rankStage = ZeroStage(file);
            if (count != world || rankStage != stage)
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file.File, null,
                    "the rank files disagree on partition_count or zero_stage",
                    expected: $"partition_count {world}, stage {stage} (rank 0)", found: $"partition_count {count}, stage {rankStage}");
            ranks.Add(file);
        }
        var extra = present.Where(f => f.Rank >= world).Select(f => f.Path).ToArray();
        if (extra.Length > 0)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, extra[0], null,
                $"partition_count says {world} DP ranks but optimizer-state files exist for {present.Count}",
                expected: $"partition_count {present.Count} (ranks 0..{present.Count - 1})", found: $"partition_count {world}");
        return (ranks, world, stage);
    }

    /// <summary>ZeRO-1/2 save each frozen parameter whole (`param.detach()`), in the model-states file.</summary>
    static void AddWholeFrozen(ZeroModelStates model, ZeroParameter p, ZeroTensorSet tensors)
    {
        var value = model.File.Get("frozen_param_fragments", p.Name);
        if (value is TorchTensor t && t.Shape.SequenceEqual(p.Shape))
        {
            tensors.Add(model.Whole(p.Name, t), model.File.File);
            return;
        }
        var flat = FlatTensor.From(value, model.File.Locator, $"frozen_param_fragments.{p.Name}", null);
        if (flat.Length < p.ElementCount)
            throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, model.File.File, p.Name,
                "the frozen parameter holds fewer elements than frozen_param_shapes gives",
                expected: $"≥ {p.ElementCount} elements", found: $"{flat.Length} elements");
        tensors.AddFlat(p.Name, p.Shape, new FlatSequence([flat]), 0, 0, p.ElementCount);
    }

    /// <summary>
    /// `zero_stage` is a `ZeroStageEnum` member: Python 3.11+ pickles it by name, `getattr(ZeroStageEnum, 'gradients')`,
    /// older Pythons as `ZeroStageEnum(2)`; hand-written states may hold a plain int.
    /// </summary>
    static long ZeroStage(DeepSpeedFile file)
    {
        // BF16_Optimizer (bf16 with ZeRO-1, Megatron-DeepSpeed's default; runtime/bf16_optimizer.py `state_dict`) records
        // no stage, and partitions its flat fp32 groups as ZeRO-1 does (padded to 2×W, padding kept on the last rank).
        if (file.Get("optimizer_state_dict", "zero_stage") is null && file.Get("optimizer_state_dict", "single_partition_of_fp32_groups") is not null)
            return 1;
        var value = file.Require("optimizer_state_dict", "zero_stage");
        long? stage = value switch
        {
            PyGlobal { Module: var m, Name: var n } when m.EndsWith("ZeroStageEnum", StringComparison.Ordinal) =>
                n switch { "disabled" => 0, "optimizer_states" => 1, "gradients" => 2, "weights" => 3, _ => null },
            PyObject { Class.Name: "ZeroStageEnum", Args.Count: 1 } o => DeepSpeedFile.AsLong(o.Args[0]),
            _ => DeepSpeedFile.AsLong(value),
        };
        return stage ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file.File, null,
            "zero_stage is not a ZeRO stage", expected: "ZeroStageEnum or int", found: PyRepr.Of(value));
    }

    /// <summary>`partition_count`: an int (stage 3) or one per param group (stages 1-2), which must agree.</summary>
    static int PartitionCount(DeepSpeedFile file)
    {
        var value = file.Require("optimizer_state_dict", "partition_count");
        var counts = value is IReadOnlyList<object?> list ? list.Select(x => DeepSpeedFile.AsLong(x)).ToArray() : [DeepSpeedFile.AsLong(value)];
        if (counts.Length == 0 || counts.Any(c => c is null or < 1 or > 1 << 20))
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file.File, null,
                "partition_count is a positive int or a list of them", expected: "int ≥ 1", found: PyRepr.Of(value));
        if (counts.Distinct().Count() > 1)
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, file.File, null,
                "param groups are partitioned over different DP sizes (MoE expert groups), which is not read",
                expected: "one partition_count", found: PyRepr.Of(value));
        return (int)counts[0]!.Value;
    }

    /// <summary>The folder a tracker file (`latest`, `latest_universal`) names, or null when there is no tracker.</summary>
    internal static string? TagFolder(ICheckpointStorage storage, string tracker)
    {
        if (!storage.Exists(tracker)) return null;
        var buffer = new byte[(int)Math.Min(storage.Length(tracker), 256)];
        storage.Read(tracker, 0, buffer, IoCategory.Metadata);
        var tag = System.Text.Encoding.UTF8.GetString(buffer).Trim();
        if (tag.Length == 0 || tag.Contains('/') || tag.Contains('\\') || tag is "." or ".." || tag.Any(char.IsControl))
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, tracker, null,
                "the tracker names one tag folder", expected: "a folder name such as global_step1000", found: tag);
        return tag;
    }
}
