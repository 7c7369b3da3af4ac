using Ckpt.Monitoring;

namespace Ckpt.Formats.Safetensors;

/// <summary>The files a sharded write produced.</summary>
public sealed record ShardedWriteResult(IReadOnlyList<string> Files, string? IndexFile, long TotalBytes, long TotalParameters);

/// <summary>
/// Writes a Hugging Face style checkpoint: `model.safetensors` when everything fits in one shard, else
/// `model-0000k-of-0000n.safetensors` + `model.safetensors.index.json`. Shards are cut the way
/// huggingface_hub's `split_torch_state_dict_into_shards` does: in state-dict order, a new shard when the
/// next tensor would overflow the current one, a tensor larger than the limit alone in its shard.
/// The index is written last, so a folder with an index is complete.
/// </summary>
public static class ShardedSafetensorsWriter
{
    public static ShardedWriteResult Write(string directory, IReadOnlyList<TensorSource> tensors, long maxShardBytes,
        IReadOnlyDictionary<string, string>? metadata = null, string prefix = "model", OperationTimeline? timeline = null,
        CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(directory);
        var shards = Split(tensors, maxShardBytes);
        long totalBytes = tensors.Sum(t => t.ByteCount);
        long totalParams = tensors.Sum(t => Manifest.Shapes.ElementCount(t.Shape));
        var indexPath = Path.Combine(directory, $"{prefix}.safetensors.index.json");
        // An index left from an earlier write would describe other shards; never delete it, refuse (verbs write into fresh staging folders).
        if (File.Exists(indexPath)) throw new IOException($"{indexPath} already exists; write into a new folder");
        if (shards.Count <= 1)
        {
            var single = Path.Combine(directory, $"{prefix}.safetensors");
            SafetensorsWriter.Write(single, tensors, metadata ?? new Dictionary<string, string> { ["format"] = "pt" }, timeline, cancellationToken);
            return new ShardedWriteResult([single], null, totalBytes, totalParams);
        }
        var files = new List<string>();
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
        {
            var name = ShardName(prefix, i, shards.Count);
            var path = Path.Combine(directory, name);
            SafetensorsWriter.Write(path, shards[i], metadata ?? new Dictionary<string, string> { ["format"] = "pt" }, timeline, cancellationToken);
            files.Add(path);
            foreach (var t in shards[i]) weightMap[t.Name] = name;
        }
        WriteIndex(indexPath, totalParams, totalBytes, weightMap);
        return new ShardedWriteResult(files, indexPath, totalBytes, totalParams);
    }

    /// <summary>`model-00002-of-00005.safetensors`: shard <paramref name="index"/> (from 0) of <paramref name="count"/>.</summary>
    public static string ShardName(string prefix, int index, int count) => $"{prefix}-{index + 1:D5}-of-{count:D5}.safetensors";

    /// <summary>Writes `{prefix}.safetensors.index.json` as save_pretrained does (temp file, fsync, rename): written after the shards.</summary>
    public static void WriteIndex(string indexPath, long totalParams, long totalBytes, IReadOnlyDictionary<string, string> weightMap)
    {
        var tmp = indexPath + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        using (var stream = File.Create(tmp))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            w.WriteNumber("total_parameters", totalParams);
            w.WriteNumber("total_size", totalBytes);
            w.WriteEndObject();
            w.WriteStartObject("weight_map");
            foreach (var kv in weightMap.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(kv.Key, kv.Value);
            w.WriteEndObject();
            w.WriteEndObject();
            w.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, indexPath);
    }

    public static List<List<TensorSource>> Split(IReadOnlyList<TensorSource> tensors, long maxShardBytes)
    {
        var shards = new List<List<TensorSource>>();
        var current = new List<TensorSource>();
        long size = 0;
        foreach (var t in tensors)
        {
            if (t.ByteCount > maxShardBytes)
            {
                shards.Add([t]);
                continue;
            }
            if (size + t.ByteCount > maxShardBytes && current.Count > 0)
            {
                shards.Add(current);
                current = [];
                size = 0;
            }
            current.Add(t);
            size += t.ByteCount;
        }
        if (current.Count > 0) shards.Add(current);
        return shards;
    }
}
