using System.Text.RegularExpressions;
using Ckpt.Formats.Megatron;
using Ckpt.Resharding;

namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// The ZeRO-1/2 optimizer partitions of a tensor- and/or pipeline-parallel DeepSpeed run, consolidated into whole
/// tensors without reading tensor bytes. Each model-parallel rank m (m = pipeline stage × TP size + TP rank, the pipe
/// grid's `ds_model_rank`; DeepSpeed's checkpoint/reshape_3d_utils.py orders the files the same way) has its own DP
/// group: `[bf16_]zero_pp_rank_D_mp_rank_{m:02d}_optim_states.pt` for D = 0 … W − 1, holding flat fp32 partitions of
/// that rank's slices in the order its `mp_rank_{m:02d}_model_states.pt` `param_shapes` give. Each MP rank is first
/// unflattened as zero_to_fp32 does for one rank (<see cref="ZeroStage12Partitions"/>), then the TP slices of every
/// parameter, fp32 master weight and Adam moment alike, are joined by <see cref="DeepSpeedTensorParallel"/>'s name rules,
/// as ds_to_universal.py's `merge_tp_slices` joins fp32 / exp_avg / exp_avg_sq (replicated: rank 0's slice).
/// Names: `optimizer.state.&lt;param&gt;.fp32` (the slot file name a Universal Checkpoint uses; the bare name is the
/// model state's bit16 tensor) and `optimizer.state.&lt;param&gt;.&lt;key&gt;` for `exp_avg`, `exp_avg_sq`. ZeRO-3 with TP
/// (pp 1; `zero_pp_rank_D_mp_rank_MM_model_states.pt` instead of `mp_rank_MM_*`) is unflattened per MP rank as
/// <see cref="ZeroStage3Partitions"/> does, its fp32 master weights under the parameters' own names. A parameter that
/// a later pipeline stage repeats (a tied embedding) is taken from the first stage that holds it, as ds_to_universal
/// skips pipeline-replicated parameters beyond stage 0.
/// Invariants, each a typed reason: one file prefix throughout (MetadataInvalid); every MP rank 0 … tp·pp − 1 has
/// optimizer files (MissingFile) and none beyond (MetadataInvalid); each MP rank's DP files are complete as for
/// <see cref="DeepSpeedZeroFormat"/>, and all MP ranks agree on W and the stage (MetadataInvalid); ZeRO-3 files beside
/// `mp_rank_*` model states are Unsupported, frozen parameters of a ZeRO-3 TP run too; the TP ranks of one stage hold the same parameters (MetadataInvalid); unknown split rules are
/// refused by name (Unsupported).
/// </summary>
static class ModelParallelZeroStates
{
    static readonly Regex LayerPrefix = new(@"^\d+\.", RegexOptions.CultureInvariant);

    /// <summary>Adds the consolidated optimizer tensors, or returns null when the folder has no optimizer files.</summary>
    /// <param name="zero3">
    /// A ZeRO-3 run (pp 1): its model states are `zero_pp_rank_0_mp_rank_{m:02d}_model_states.pt`, with placeholders for
    /// parameters, so the fp32 master weights take the parameters' own names (as <see cref="DeepSpeedZeroFormat"/> names
    /// ZeRO-3's) and buffers come from those files, merged by the same rules.
    /// </param>
    public static (long Stage, int World)? Consolidate(ICheckpointStorage storage, Func<string, string> inFolder, IReadOnlyList<string> names,
        int tp, int pp, bool pipeline, bool swiglu, bool zero3, List<TensorEntry> tensors, List<StorageFile> files, CancellationToken cancellationToken)
    {
        var optim = names.Select(n => (Name: n, Match: DeepSpeedZeroFormat.OptimFile.Match(n))).Where(f => f.Match.Success).ToArray();
        if (optim.Length == 0) return null;
        var prefix = optim[0].Match.Groups[1].Value;
        if (optim.FirstOrDefault(f => f.Match.Groups[1].Value != prefix) is { Name: not null } mixed)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, inFolder(mixed.Name), null,
                "the optimizer-state files do not share one name prefix", expected: $"'{prefix}zero_pp_rank_…' throughout");
        int Mp(Match m) => int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        int mpWorld = tp * pp;
        if (optim.FirstOrDefault(f => Mp(f.Match) >= mpWorld) is { Name: not null } beyond)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, inFolder(beyond.Name), null,
                $"this optimizer-state file belongs to MP rank {Mp(beyond.Match)}, beyond the {mpWorld} model-parallel ranks (TP {tp} × PP {pp})",
                expected: $"mp_rank_00 … mp_rank_{mpWorld - 1:00}");

        var perRank = new Dictionary<string, TensorEntry>[mpWorld];
        var parameters = new ZeroParameter[mpWorld][];
        var modelFiles = new string[mpWorld];
        long stage = 0;
        int world = 0;
        for (int m = 0; m < mpWorld; m++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var present = optim.Where(f => Mp(f.Match) == m).Select(f => (inFolder(f.Name), int.Parse(f.Match.Groups[2].Value, CultureInfo.InvariantCulture))).ToArray();
            string RankFile(int d) => inFolder($"{prefix}zero_pp_rank_{d}_mp_rank_{m:00}_optim_states.pt");
            if (present.Length == 0)
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, RankFile(0), null,
                    $"model-parallel rank {m}'s ZeRO optimizer partitions are missing (TP {tp} × PP {pp} = {mpWorld} ranks)",
                    expected: $"optimizer files for MP ranks 0 … {mpWorld - 1}",
                    found: $"MP ranks {string.Join(", ", optim.Select(f => Mp(f.Match)).Distinct().Order())}");
            var (ranks, w, s) = DeepSpeedZeroFormat.OpenRanks(storage, RankFile, present, zero3 ? 3 : 2, cancellationToken);
            if (zero3 && s != 3)
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, ranks[0].File, null,
                    "ZeRO-3 model-states files sit beside optimizer files of another stage", expected: "zero_stage 3", found: $"zero_stage {s}");
            if (m > 0 && (w != world || s != stage))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, ranks[0].File, null,
                    "the model-parallel ranks disagree on the DP size or the ZeRO stage",
                    expected: $"partition_count {world}, stage {stage} (MP rank 0)", found: $"partition_count {w}, stage {s}");
            (world, stage) = (w, s);
            modelFiles[m] = inFolder(zero3 ? $"zero_pp_rank_0_mp_rank_{m:00}_model_states.pt" : $"mp_rank_{m:00}_model_states.pt");
            var model = ZeroModelStates.Read(DeepSpeedFile.Open(storage, modelFiles[m], $"MP rank {m} model-states"));
            var set = new ZeroTensorSet();
            var held = model.Trainable.ToList();
            if (zero3)
            {
                if (model.Frozen.Count > 0)
                    throw new CheckpointFormatException(FormatErrorReason.Unsupported, modelFiles[m], model.Frozen[0].Name,
                        "frozen parameters of a tensor-parallel ZeRO-3 run are not consolidated");
                ZeroStage3Partitions.Gather(model, ranks, world, set);
                foreach (var (name, tensor, isBuffer) in model.ModuleTensors())
                    if (isBuffer)
                    {
                        set.Add(model.Whole(name, tensor), model.File.File);
                        held.Add(new ZeroParameter(name, tensor.Shape.ToArray()));
                    }
            }
            else ZeroStage12Partitions.Gather(model, ranks, world, set, n => $"optimizer.state.{n}.fp32");
            perRank[m] = set.ToEntries().ToDictionary(e => e.Name, StringComparer.Ordinal);
            parameters[m] = held.ToArray();
            files.AddRange(ranks.Select(r => r.ToStorageFile(storage)));
        }
        foreach (var f in modelFiles)
            if (!files.Any(x => x.Path == f)) files.Add(new StorageFile(f, storage.Length(f)));

        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (int p = 0; p < pp; p++)
        {
            int first = p * tp;
            var names0 = parameters[first].Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
            for (int t = 1; t < tp; t++)
                if (parameters[first + t].FirstOrDefault(x => !names0.Contains(x.Name)) is { } odd)
                    throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, modelFiles[first + t], odd.Name,
                        $"TP rank {t} of pipeline stage {p} has a parameter in param_shapes that TP rank 0 does not");
                else if (parameters[first + t].Length != names0.Count)
                    throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, modelFiles[first + t], null,
                        $"TP rank {t} of pipeline stage {p} has fewer parameters in param_shapes than TP rank 0",
                        expected: $"{names0.Count} parameters", found: $"{parameters[first + t].Length} parameters");
            foreach (var parameter in parameters[first])
            {
                if (!taken.Add(parameter.Name)) continue;
                var key = pipeline ? LayerPrefix.Replace(parameter.Name, "") : parameter.Name;
                var slot = $"optimizer.state.{parameter.Name}.";
                var split = tp == 1 ? TensorParallelSplit.Replicated
                    : DeepSpeedTensorParallel.SplitOf(key, parameter.Shape.Count, swiglu, modelFiles[first], parameter.Name);
                foreach (var (name, entry0) in perRank[first])
                {
                    if (name != parameter.Name && (!name.StartsWith(slot, StringComparison.Ordinal) || name.AsSpan(slot.Length).Contains('.'))) continue;
                    var shards = new TensorEntry[tp];
                    for (int t = 0; t < tp; t++)
                        shards[t] = perRank[first + t].GetValueOrDefault(name) ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid,
                            modelFiles[first + t], name, $"TP rank {t} of pipeline stage {p} lacks an optimizer state that TP rank 0 holds");
                    if (split == TensorParallelSplit.Replicated && shards.FirstOrDefault(s => s.DType != entry0.DType || !s.Shape.SequenceEqual(entry0.Shape)) is { } differs)
                        throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, modelFiles[first + Array.IndexOf(shards, differs)], name,
                            "a replicated parameter's optimizer state differs in shape between TP ranks",
                            expected: $"{entry0.DType} {entry0.ShapeText}", found: $"{differs.DType} {differs.ShapeText}");
                    tensors.Add(MegatronLegacyFormat.Merge(name, shards, split, modelFiles[first]));
                }
            }
        }
        return (stage, world);
    }
}
