using Ckpt.Formats.Text;

namespace Ckpt.Formats;

/// <summary>
/// A Hugging Face shard index (`model.safetensors.index.json`, `pytorch_model.bin.index.json`):
/// `{"metadata": {...}, "weight_map": {tensor: shard file}}`. Shard names are checked against the
/// checkpoint folder before anything is opened.
/// </summary>
public sealed record HfIndex(string File, IReadOnlyDictionary<string, string> Metadata, IReadOnlyDictionary<string, string> WeightMap)
{
    const int MaxIndexBytes = 64 * 1024 * 1024;

    public IReadOnlyList<string> Shards => WeightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// The index a sharded Hugging Face checkpoint opens by: <paramref name="entry"/> when it names one (ends with one of
    /// <paramref name="suffixes"/>); in a folder (an empty entry), <paramref name="preferred"/> or else the first file the
    /// folder lists ending with the first suffix; null when there is none.
    /// </summary>
    public static string? Find(ICheckpointStorage storage, string entry, string preferred, params string[] suffixes)
    {
        if (suffixes.Any(s => entry.EndsWith(s, StringComparison.Ordinal))) return entry;
        if (entry.Length != 0) return null;
        var indexes = storage.List().Where(f => f.EndsWith(suffixes[0], StringComparison.Ordinal)).ToArray();
        return indexes.Length == 0 ? null : indexes.FirstOrDefault(i => i == preferred) ?? indexes[0];
    }

    public static HfIndex Read(ICheckpointStorage storage, string file)
    {
        var bytes = MetadataFile.ReadAll(storage, file, MaxIndexBytes, "the index file is larger than 64 MB", empty: "the index file is empty");
        // System.Text.Json checks UTF-8 only when a string is read; check it all up front.
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, null, "the index is not valid UTF-8");
        try
        {
            using var doc = JsonLimits.Parse(bytes, file, FormatErrorReason.HeaderInvalid, maxDepth: 16);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var wm) || wm.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, null, "the index has no 'weight_map' object");
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            var written = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in wm.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, p.Name, "its weight_map value is not a file name");
                var shard = p.Value.GetString()!;
                var dir = Path.GetDirectoryName(file)?.Replace('\\', '/') ?? "";
                map[p.Name] = dir.Length == 0 ? shard : dir + "/" + shard;
                written.TryAdd(map[p.Name], shard);
            }
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("metadata", out var md) && md.ValueKind == JsonValueKind.Object)
                foreach (var p in md.EnumerateObject())
                    metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            var index = new HfIndex(file, metadata, map);
            foreach (var shard in index.Shards)
            {
                var tensor = map.First(kv => kv.Value == shard).Key;
                if (!ReferencedPath.Exists(storage, shard, file, tensor, "weight_map", written[shard]))
                    throw new CheckpointFormatException(FormatErrorReason.MissingFile, file, tensor,
                        $"the index names shard '{shard}', which does not exist");
            }
            return index;
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, null, $"the index is not valid JSON ({e.Message.TrimEnd('.')})");
        }
    }
}
