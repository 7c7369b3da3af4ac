namespace Ckpt.Manifest;

/// <summary>
/// What a checkpoint holds, independent of the format it was written in: the one representation every
/// reader produces and everything else consumes (ByteCheckpoint / Universal Checkpointing idea).
/// Immutable; describing a checkpoint never reads tensor bytes.
/// </summary>
public sealed record CheckpointManifest
{
    /// <summary>Short format name: `safetensors`, `torch.save`, `dcp`, ...</summary>
    public required string Format { get; init; }
    /// <summary>Who wrote it when that can be told (`transformers`, `fsdp2`, `dtensor`, `torch`), else `unknown`.</summary>
    public string Framework { get; init; } = "unknown";
    public ParallelLayout Layout { get; init; } = ParallelLayout.Single;
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    public required IReadOnlyList<TensorEntry> Tensors { get; init; }
    public IReadOnlyList<ObjectEntry> Objects { get; init; } = [];
    /// <summary>Storage objects (files) relative to the checkpoint root, with their sizes.</summary>
    public required IReadOnlyList<StorageFile> Files { get; init; }

    public long ParameterCount => Tensors.Sum(t => t.ElementCount);
    public long TensorBytes => Tensors.Sum(t => t.ByteCount);
    public long TotalBytes => Files.Sum(f => f.Length);

    public IReadOnlyDictionary<DType, long> ParametersByDType =>
        Tensors.GroupBy(t => t.DType).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Sum(t => t.ElementCount));

    public TensorEntry? Find(string name)
    {
        // Records copy fields on `with`, so the index remembers which list it was built for.
        var cached = _index;
        if (cached is null || !ReferenceEquals(cached.Value.For, Tensors))
        {
            var map = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
            foreach (var t in Tensors) map[t.Name] = t;
            cached = (Tensors, map);
            _index = cached;
        }
        return cached.Value.Map.GetValueOrDefault(name);
    }

    (IReadOnlyList<TensorEntry> For, Dictionary<string, TensorEntry> Map)? _index;
}

/// <summary>One file (or object-store key) of a checkpoint.</summary>
public sealed record StorageFile(string Path, long Length);

/// <summary>How the checkpoint was laid out across ranks when it was saved.</summary>
public sealed record ParallelLayout(int WorldSize, IReadOnlyList<int> Mesh, string Description)
{
    public static readonly ParallelLayout Single = new(1, [1], "single process");
    public bool IsSharded => WorldSize > 1;
}

/// <summary>A non-tensor value stored in a checkpoint (step counters, param_groups, RNG state, strings).</summary>
public sealed record ObjectEntry(string Name, string Kind, object? Value, string? File = null);
