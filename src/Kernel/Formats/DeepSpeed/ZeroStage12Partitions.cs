using Ckpt.Pickle;

namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// ZeRO-1/2 (deepspeed/runtime/zero/stage_1_and_2.py `state_dict`, read back as deepspeed/utils/zero_to_fp32.py does):
/// each param group is one flat fp32 vector, padded to a multiple of 2×world and cut into equal rank partitions;
/// rank r saves its partition as `single_partition_of_fp32_groups[g]`, the last rank's padding stripped. The ranks'
/// partitions concatenated in rank order hold the group's parameters back to back in `param_shapes` order, so a
/// parameter is the pieces of the partitions its element range crosses. Adam's `exp_avg`/`exp_avg_sq` live in
/// `base_optimizer_state` (torch's `state_dict()` over the padded partitions, or a list of per-group states from an
/// elastic checkpoint) laid out like the fp32 partition, and are exposed as `optimizer.state.&lt;param&gt;.&lt;key&gt;`.
/// </summary>
static class ZeroStage12Partitions
{
    /// <summary>
    /// Gathers every trainable parameter's fp32 master weight under <paramref name="fp32Name"/>(name) (its own name when
    /// null) and each flat optimizer state under `optimizer.state.&lt;name&gt;.&lt;key&gt;`.
    /// </summary>
    public static void Gather(ZeroModelStates model, IReadOnlyList<DeepSpeedFile> ranks, int world, ZeroTensorSet tensors,
        Func<string, string>? fp32Name = null)
    {
        var fp32 = ranks.Select((file, r) =>
        {
            var list = file.Require<IReadOnlyList<object?>>("optimizer_state_dict.single_partition_of_fp32_groups",
                file.Require("optimizer_state_dict", "single_partition_of_fp32_groups"));
            if (list.Count != model.Groups.Count)
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file.File, null,
                    "the rank's fp32 partitions do not match param_shapes' param groups one to one",
                    expected: $"{model.Groups.Count} groups", found: $"{list.Count} partitions");
            return list.Select((v, g) => FlatTensor.From(v, file.Locator, $"single_partition_of_fp32_groups[{g}]", r)).ToArray();
        }).ToArray();

        for (int g = 0; g < model.Groups.Count; g++)
        {
            var sequence = new FlatSequence(fp32.Select(p => p[g]));
            Place(model.Groups[g], g, sequence, world, ranks[^1].File, fp32Name ?? (name => name), tensors);
        }

        for (int g = 0; g < model.Groups.Count; g++)
        {
            var states = ranks.Select(f => GroupState(f, g)).ToArray();
            if (states[0] is null) continue;
            foreach (var (key, value) in states[0]!)
            {
                if (key is not string k || k == "step" || value is not TorchTensor) continue;
                if (states.Any(s => s?.Get(k) is not TorchTensor)) continue;
                var parts = ranks.Select((f, r) => Trim(FlatTensor.From(states[r]!.Get(k), f.Locator, $"base_optimizer_state[{g}].{k}", r), fp32[r][g], k, g));
                Place(model.Groups[g], g, new FlatSequence(parts), world, ranks[^1].File, name => $"optimizer.state.{name}.{k}", tensors);
            }
        }
    }

    /// <summary>Walks a group's parameters through its concatenated partitions; zero_to_fp32's sanity check bounds the slack.</summary>
    static void Place(IReadOnlyList<ZeroParameter> group, int g, FlatSequence sequence, int world, string lastFile,
        Func<string, string> name, ZeroTensorSet tensors)
    {
        long offset = 0;
        foreach (var p in group)
        {
            long n = p.ElementCount;
            if (offset + n > sequence.Length)
                throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, lastFile, name(p.Name),
                    $"param group {g}'s {world} flat partitions end before this parameter does",
                    expected: $"≥ {offset + n} elements", found: $"{sequence.Length} elements");
            tensors.AddFlat(name(p.Name), p.Shape, sequence, 0, offset, n);
            offset += n;
        }
        long align = 2L * world;
        long Aligned(long x) => (x + align - 1) / align * align;
        if (Aligned(offset) != Aligned(sequence.Length))
            throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, lastFile, null,
                $"param_shapes give param group {g} {offset} elements but its {world} partitions hold {sequence.Length}; only padding to a multiple of {align} may differ",
                expected: $"{offset}..{Aligned(offset)} elements", found: $"{sequence.Length} elements");
    }

    static PyDict? GroupState(DeepSpeedFile file, int g) => file.Get("optimizer_state_dict", "base_optimizer_state") switch
    {
        PyDict d when d.Get("state") is PyDict state => state.TryGetValue((long)g, out var s) ? s as PyDict : null,
        IReadOnlyList<object?> list when g < list.Count => list[g] as PyDict,
        _ => null,
    };

    /// <summary>A state over the padded partition, cut to the lean fp32 partition it shadows.</summary>
    static FlatTensor Trim(FlatTensor state, FlatTensor fp32, string key, int g)
    {
        if (state.Length < fp32.Length)
            throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, state.File, null,
                $"optimizer state '{key}' of param group {g} is shorter than the rank's fp32 partition",
                expected: $"≥ {fp32.Length} elements", found: $"{state.Length} elements");
        return state.Take(fp32.Length);
    }
}
