namespace Ckpt.Formats.Safetensors;

/// <summary>
/// Hugging Face sharded safetensors: `model.safetensors.index.json` naming the shard of every tensor.
/// Every tensor the index names must be in that shard's header; shards are read header-only.
/// </summary>
public sealed class ShardedSafetensorsFormat : ICheckpointFormat
{
    public string Name => "safetensors-sharded";
    public int Priority => 20;

    public bool Matches(ICheckpointStorage storage, string entry) => FindIndex(storage, entry) is not null;

    static string? FindIndex(ICheckpointStorage storage, string entry) =>
        HfIndex.Find(storage, entry, "model.safetensors.index.json", ".safetensors.index.json");

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var indexFile = FindIndex(storage, entry)!;
        var index = HfIndex.Read(storage, indexFile);
        var tensors = new List<TensorEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in index.Metadata) metadata["index." + kv.Key] = kv.Value;
        var files = new List<StorageFile>();
        foreach (var shard in index.Shards)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var header = SafetensorsHeader.Read(storage, shard);
            files.Add(new StorageFile(shard, storage.Length(shard)));
            foreach (var m in header.Metadata) metadata.TryAdd(m.Key, m.Value);
            var expected = index.WeightMap.Where(kv => kv.Value == shard).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var t in header.ToEntries())
                if (expected.Remove(t.Name)) tensors.Add(t);
            if (expected.Count > 0)
                throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, shard, expected.Order().First(),
                    $"the index places this tensor in '{shard}' but the shard does not hold it");
        }
        files.Add(new StorageFile(indexFile, storage.Length(indexFile)));
        var dir = Path.GetDirectoryName(indexFile)?.Replace('\\', '/') ?? "";
        foreach (var kv in HfConfig.Describe(storage, dir)) metadata[kv.Key] = kv.Value;
        // Keep the index's order: it is the order the model's state_dict had.
        var order = index.WeightMap.Keys.Select((k, i) => (k, i)).ToDictionary(x => x.k, x => x.i, StringComparer.Ordinal);
        return new CheckpointManifest
        {
            Format = "safetensors",
            Framework = HfConfig.Framework(storage, dir),
            Layout = new ParallelLayout(1, [1], $"{index.Shards.Count} shards by size (not by rank)"),
            Metadata = metadata,
            Tensors = tensors.OrderBy(t => order[t.Name]).ToArray(),
            Files = files,
        };
    }
}
