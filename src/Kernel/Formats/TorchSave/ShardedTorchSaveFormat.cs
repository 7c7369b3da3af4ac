namespace Ckpt.Formats.TorchSave;

/// <summary>
/// Hugging Face sharded torch.save weights: `pytorch_model.bin.index.json` naming the shard
/// (`pytorch_model-0000k-of-0000n.bin`) of every tensor. Each shard is read pickle-only; every tensor the
/// index names must be in its shard (TensorNotFound).
/// </summary>
public sealed class ShardedTorchSaveFormat : ICheckpointFormat
{
    public string Name => "torch.save-sharded";
    public int Priority => 20;

    public bool Matches(ICheckpointStorage storage, string entry) => FindIndex(storage, entry) is not null;

    // A folder holding a safetensors index as well opens as safetensors (transformers prefers it).
    static string? FindIndex(ICheckpointStorage storage, string entry) =>
        entry.Length == 0 && storage.List().Any(f => f.EndsWith(".safetensors.index.json", StringComparison.Ordinal)) ? null
            : HfIndex.Find(storage, entry, "pytorch_model.bin.index.json", ".bin.index.json", ".pt.index.json");

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var indexFile = FindIndex(storage, entry)!;
        var index = HfIndex.Read(storage, indexFile);
        var tensors = new List<TensorEntry>();
        var objects = new List<ObjectEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in index.Metadata) metadata["index." + kv.Key] = kv.Value;
        var files = new List<StorageFile>();
        foreach (var shard in index.Shards)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var contents = TorchSaveFile.Read(storage, shard);
            files.Add(new StorageFile(shard, storage.Length(shard)));
            foreach (var m in contents.Metadata) metadata.TryAdd(m.Key, m.Value);
            var expected = index.WeightMap.Where(kv => kv.Value == shard).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var t in contents.Tensors)
                if (expected.Remove(t.Name)) tensors.Add(t);
            objects.AddRange(contents.Objects);
            if (expected.Count > 0)
                throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, shard, expected.Order(StringComparer.Ordinal).First(),
                    $"the index places {expected.Count} tensor(s) in this shard that it does not hold");
        }
        var dir = Path.GetDirectoryName(indexFile)?.Replace('\\', '/') ?? "";
        foreach (var kv in HfConfig.Describe(storage, dir)) metadata[kv.Key] = kv.Value;
        return new CheckpointManifest
        {
            Format = Name,
            Framework = "transformers",
            Metadata = metadata,
            Tensors = tensors,
            Objects = objects,
            Files = files,
        };
    }
}
