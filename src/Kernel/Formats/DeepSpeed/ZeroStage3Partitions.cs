using Ckpt.Pickle;

namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// ZeRO-3 (deepspeed/runtime/zero/stage3.py `_rigid_state_dict`, read back as deepspeed/utils/zero_to_fp32.py does):
/// every parameter is partitioned on its own: rank r holds elements [r·p, (r+1)·p) with p = ceil(numel / world), the
/// last partitions zero-padded. In each rank's `fp32_flat_groups` (one flat buffer per sub-group, read as one vector)
/// the parameters' partitions sit back to back in `param_shapes` order, so parameter i is at the same offset
/// Σ_{j&lt;i} p_j on every rank. Each rank contributes one contiguous range of the flattened parameter, cut into boxes.
/// Adam state is the nested `optimizer_state_dict.state[sub_group]`, laid out like the fp32 buffers. Frozen
/// parameters are each rank's `frozen_param_fragments[name]` (its `ds_tensor`) in that rank's model-states file.
/// </summary>
static class ZeroStage3Partitions
{
    public static void Gather(ZeroModelStates model, IReadOnlyList<DeepSpeedFile> ranks, int world, ZeroTensorSet tensors)
    {
        var fp32 = ranks.Select((file, r) =>
            file.Require<IReadOnlyList<object?>>("optimizer_state_dict.fp32_flat_groups", file.Require("optimizer_state_dict", "fp32_flat_groups"))
                .Select((v, j) => FlatTensor.From(v, file.Locator, $"fp32_flat_groups[{j}]", r)).ToArray()).ToArray();
        var parameters = model.Trainable.ToArray();
        long perRank = parameters.Sum(p => Partition(p.ElementCount, world));
        for (int r = 0; r < ranks.Count; r++)
        {
            long held = fp32[r].Sum(f => f.Length);
            if (held != perRank)
                throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, ranks[r].File, null,
                    $"param_shapes partition into {perRank} elements per rank (each parameter ceil(numel/{world}), padded) but this rank's fp32_flat_groups hold {held}",
                    expected: $"{perRank} elements", found: $"{held} elements");
        }
        Place(parameters, fp32.Select(f => new FlatSequence(f)).ToArray(), world, name => name, tensors);

        var states = ranks.Select(f => f.Get("optimizer_state_dict", "optimizer_state_dict", "state") as PyDict).ToArray();
        if (states.Any(s => s is null) || (states[0]!.TryGetValue(0L, out var s0) ? s0 : null) is not PyDict first) return;
        foreach (var (key, value) in first)
        {
            if (key is not string k || k == "step" || value is not TorchTensor) continue;
            var sequences = ranks.Select((f, r) => StateSequence(f, states[r]!, fp32[r], k, r)).ToArray();
            if (sequences.All(s => s is not null))
                Place(parameters, sequences.Select(s => s!).ToArray(), world, name => $"optimizer.state.{name}.{k}", tensors);
        }
    }

    /// <summary>One rank's state `key` over its sub-groups, each cut to its fp32 flat group; null when a sub-group lacks it.</summary>
    static FlatSequence? StateSequence(DeepSpeedFile file, PyDict states, FlatTensor[] fp32, string key, int rank)
    {
        var parts = new List<FlatTensor>();
        for (int j = 0; j < fp32.Length; j++)
        {
            if ((states.TryGetValue((long)j, out var s) ? s as PyDict : null)?.Get(key) is not TorchTensor t) return null;
            var flat = FlatTensor.From(t, file.Locator, $"optimizer_state_dict.state[{j}].{key}", rank);
            if (flat.Length < fp32[j].Length)
                throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, file.File, null,
                    $"optimizer state '{key}' of sub-group {j} is shorter than the rank's fp32 flat group",
                    expected: $"≥ {fp32[j].Length} elements", found: $"{flat.Length} elements");
            parts.Add(flat.Take(fp32[j].Length));
        }
        return new FlatSequence(parts);
    }

    /// <summary>Frozen parameters: the ranks' `ds_tensor` partitions concatenated, cut to numel (zero_to_fp32 `_zero3_merge_frozen_params`).</summary>
    public static void GatherFrozen(IReadOnlyList<ZeroModelStates> rankModels, ZeroTensorSet tensors)
    {
        foreach (var p in rankModels[0].Frozen)
        {
            var parts = rankModels.Select((m, r) => FlatTensor.From(m.File.Get("frozen_param_fragments", p.Name), m.File.Locator,
                $"frozen_param_fragments.{p.Name}", r)).ToArray();
            var sequence = new FlatSequence(parts);
            if (sequence.Length < p.ElementCount)
                throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, rankModels[^1].File.File, p.Name,
                    "the ranks' frozen parameter partitions hold fewer elements than frozen_param_shapes gives",
                    expected: $"≥ {p.ElementCount} elements", found: $"{sequence.Length} elements");
            tensors.AddFlat(p.Name, p.Shape, sequence, 0, 0, p.ElementCount);
        }
    }

    static void Place(IReadOnlyList<ZeroParameter> parameters, IReadOnlyList<FlatSequence> ranks, int world,
        Func<string, string> name, ZeroTensorSet tensors)
    {
        long offset = 0;
        foreach (var p in parameters)
        {
            long n = p.ElementCount, part = Partition(n, world);
            for (int r = 0; r < ranks.Count; r++)
                tensors.AddFlat(name(p.Name), p.Shape, ranks[r], r * part, offset, Math.Clamp(n - r * part, 0, part));
            offset += part;
        }
    }

    static long Partition(long numel, int world) => (numel + world - 1) / world;
}
