using Ckpt.Formats.Text;

namespace Ckpt.Formats.Dcp;

/// <summary>Who wrote a DCP folder, and how it was laid out across ranks.</summary>
internal static class DcpFramework
{
    /// <summary>
    /// `megatron-torch_dist` when a Megatron `metadata.json` names the torch_dist backend (or `mcore_data` is
    /// present); `fsdp2` when the state dict holds optimizer state (`optim.*`, as torchtitan and FSDP2 recipes
    /// save it); `shardedtensor` for torch 1.13/2.0's `_shard.checkpoint`; `dtensor` otherwise.
    /// </summary>
    public static string Detect(ICheckpointStorage storage, string folder, DcpMetadata meta, Dictionary<string, string> metadata)
    {
        var json = folder.Length == 0 ? "metadata.json" : folder + "/metadata.json";
        if (storage.Exists(json) && storage.Length(json) < 64 * 1024)
        {
            var bytes = new byte[storage.Length(json)];
            storage.Read(json, 0, bytes, IoCategory.Metadata);
            try
            {
                using var doc = JsonLimits.Parse(bytes, json, FormatErrorReason.MetadataInvalid);
                if (doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("sharded_backend", out var backend) && backend.ValueKind == JsonValueKind.String)
                {
                    metadata["megatron.sharded_backend"] = backend.GetString()!;
                    if (doc.RootElement.TryGetProperty("sharded_backend_version", out var v)) metadata["megatron.sharded_backend_version"] = v.GetRawText();
                    if (backend.GetString() == "torch_dist") return "megatron-torch_dist";
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or CheckpointFormatException) { /* not UTF-8 or not JSON: not Megatron's file */ }
        }
        if (meta.Extra.ContainsKey("mcore_data")) return "megatron-torch_dist";
        // torch 1.13 / 2.0 kept DCP under `_shard` and sharded with ShardedTensor rather than DTensor.
        if (meta.MetadataClass.StartsWith("torch.distributed._shard.", StringComparison.Ordinal)) return "shardedtensor";
        if (meta.StateDict.Any(kv => kv.Key.StartsWith("optim.", StringComparison.Ordinal) || kv.Key.StartsWith("optimizer.", StringComparison.Ordinal)))
            return "fsdp2";
        return "dtensor";
    }

    /// <summary>World size = distinct writer ranks in the data file names; the description says how tensors were split.</summary>
    public static ParallelLayout Layout(IEnumerable<string> files, IReadOnlyList<TensorEntry> tensors)
    {
        var ranks = files.Select(DcpStoragePath.WriterRank).Where(r => r is not null).Select(r => r!.Value).Distinct().Count();
        int world = Math.Max(1, ranks);
        var kinds = tensors.GroupBy(ShardingOf).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Count()} {g.Key}");
        var description = $"{world} writer rank{(world == 1 ? "" : "s")}" + (tensors.Count == 0 ? "" : "; tensors: " + string.Join(", ", kinds));
        return new ParallelLayout(world, [world], description);
    }

    static string ShardingOf(TensorEntry t)
    {
        if (t.Fragments.Count <= 1) return "whole";
        var dims = Enumerable.Range(0, t.Rank).Where(d => t.Fragments.Any(f => f.Lengths[d] != t.Shape[d])).ToArray();
        return dims.Length == 0 ? "whole" : $"split on dim {string.Join("+", dims)} in {t.Fragments.Count}";
    }
}
