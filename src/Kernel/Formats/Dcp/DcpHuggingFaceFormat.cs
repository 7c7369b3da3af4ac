using System.Text.RegularExpressions;
using Ckpt.Formats.Safetensors;
using Ckpt.Formats.Text;

namespace Ckpt.Formats.Dcp;

/// <summary>
/// torch.distributed.checkpoint written through its Hugging Face storage layer (`HuggingFaceStorageWriter`, torch ≥ 2.7;
/// torch/distributed/checkpoint/hf_storage.py and _hf_utils.py): plain safetensors files whose `__metadata__` holds
/// `DCP_SHARDING_INFO`, a JSON string mapping each tensor of the file to `{"saved_offsets": [...]}`, the offset of the
/// chunk the file holds within the global tensor. Per-rank files (`save_sharded`) are
/// `shard-RRRRR-model-IIIII-of-NNNNN.safetensors` with no index; whole-tensor files are `model-IIIII-of-NNNNN.safetensors`
/// with `model.safetensors.index.json` (offsets all 0). As torch's `_HuggingFaceStorageReader.read_metadata`, every
/// `.safetensors` file in the folder is read and a tensor's global shape is the largest offset + chunk size; each chunk
/// becomes a fragment pointing at its bytes, so reading, resharding and converting need nothing else. No `.metadata`
/// is needed; one beside the files (torch 2.7's writer) is not read.
///
/// Invariants, each with its reason:
/// - `DCP_SHARDING_INFO` is a JSON object naming every tensor of its file with integer `saved_offsets` of the tensor's
///   rank (<see cref="FormatErrorReason.MetadataInvalid"/>);
/// - the chunks of one tensor agree on its dtype (<see cref="FormatErrorReason.MetadataInvalid"/>);
/// - per-rank files are numbered 1..world with no gap below the highest present (<see cref="FormatErrorReason.MissingFile"/>);
/// - with `model.safetensors.index.json`, every tensor it names is in the file it names
///   (<see cref="FormatErrorReason.MissingFile"/>, <see cref="FormatErrorReason.TensorNotFound"/>);
/// - the chunks tile the global tensor without holes or overlaps (checked for every manifest by ManifestValidator:
///   <see cref="FormatErrorReason.ChunksDoNotCoverTensor"/>, <see cref="FormatErrorReason.OverlappingData"/>).
///
/// What cannot be detected: a per-rank folder missing its LAST rank's file(s). torch records, per file, only each
/// chunk's `saved_offsets` (filesystem.py `_write_files_from_queue`), never the global shape nor the world size, and its
/// own reader and consolidator take the largest offset + chunk as the shape too; so the remaining ranks read as a
/// complete, smaller checkpoint (and a replicated tensor deduplicated onto that rank is absent). A missing first or
/// middle rank is refused (numbering gap, or a hole in a tensor).
/// </summary>
public sealed partial class DcpHuggingFaceFormat : ICheckpointFormat
{
    const string ShardingKey = "DCP_SHARDING_INFO";
    const string IndexFile = "model.safetensors.index.json";

    public string Name => "dcp-hf";
    public int Priority => 15;

    [GeneratedRegex(@"^shard-(?<rank>\d{5})-model-\d{5}-of-\d{5}\.safetensors$")]
    private static partial Regex RankFileName();

    /// <summary>torch's per-rank file name; <see cref="IncompleteCheckpoint"/> must not take it for an HF shard without index.</summary>
    internal static bool IsRankFile(string name) => RankFileName().IsMatch(name);

    public bool Matches(ICheckpointStorage storage, string entry)
    {
        if (entry.Length != 0) return false;
        var first = DataFiles(storage).FirstOrDefault();
        if (first is null) return false;
        try { return SafetensorsHeader.Read(storage, first).Metadata.ContainsKey(ShardingKey); }
        catch (CheckpointFormatException) { return false; }  // not safetensors after all: another reader says why
    }

    static IEnumerable<string> DataFiles(ICheckpointStorage storage) =>
        storage.List().Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal));

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var chunks = new Dictionary<string, List<(TensorEntry Chunk, long[] Offsets)>>(StringComparer.Ordinal);
        var files = new List<StorageFile>();
        var ranks = new SortedSet<int>();
        string? version = null;
        foreach (var file in DataFiles(storage))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var header = SafetensorsHeader.Read(storage, file);
            files.Add(new StorageFile(file, storage.Length(file)));
            int? rank = RankFileName().Match(file) is { Success: true } m ? int.Parse(m.Groups["rank"].Value, System.Globalization.CultureInfo.InvariantCulture) - 1 : null;
            if (rank is { } r) ranks.Add(r);
            version ??= header.Metadata.GetValueOrDefault("DCP_VERSION");
            var offsets = SavedOffsets(file, header);
            foreach (var chunk in header.ToEntries(rank))
            {
                var at = offsets?.GetValueOrDefault(chunk.Name) ?? new long[chunk.Rank];
                if (at.Length != chunk.Rank)
                    throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, chunk.Name,
                        "the saved_offsets in DCP_SHARDING_INFO do not match the tensor's rank", $"{chunk.Rank} offsets", $"{at.Length}");
                if (!chunks.TryGetValue(chunk.Name, out var list)) chunks[chunk.Name] = list = [];
                list.Add((chunk, at));
            }
        }
        RefuseMissingRanks(storage, ranks);
        if (storage.Exists(IndexFile)) RefuseMissingIndexed(storage, chunks);
        var tensors = chunks.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => Assemble(kv.Key, kv.Value)).ToArray();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["dcp.version"] = version ?? "unknown", ["dcp.storage"] = "huggingface" };
        return new CheckpointManifest
        {
            Format = Name,
            Framework = "torch",
            Layout = ranks.Count > 1 ? new ParallelLayout(ranks.Count, [ranks.Count], $"{ranks.Count} per-rank safetensors files") : ParallelLayout.Single,
            Metadata = metadata,
            Tensors = tensors,
            Files = files,
        };
    }

    /// <summary>
    /// torch numbers the per-rank files 1..world (`prepare_global_plan` enumerates the plans from 1) and records no world
    /// size, so only a missing rank below the highest present one is provable; such a rank's tensors would be missing or
    /// read smaller. (An empty plan writes no file, but dedup gives replicated items to the least-loaded, lowest rank
    /// first, so ranks without a file are the highest ones.)
    /// </summary>
    static void RefuseMissingRanks(ICheckpointStorage storage, SortedSet<int> ranks)
    {
        if (ranks.Count == 0) return;
        var missing = Enumerable.Range(0, ranks.Max + 1).Where(r => !ranks.Contains(r)).ToArray();
        if (missing.Length == 0) return;
        static string File(int rank) => $"shard-{rank + 1:D5}-model-*.safetensors";
        throw new CheckpointFormatException(FormatErrorReason.MissingFile, File(missing[0]), null,
            $"the folder holds per-rank files up to {File(ranks.Max)} but none of rank {missing[0] + 1}, so the tensors that rank saved would be missing or read smaller",
            expected: $"shard files of ranks 1-{ranks.Max + 1}", found: $"ranks {string.Join(", ", ranks.Select(r => r + 1))}");
    }

    /// <summary>
    /// The whole-tensor layout's index (`finish` writes it after every file) names the file of every tensor saved: a file
    /// it names must exist (<see cref="HfIndex.Read"/>, MissingFile) and hold that tensor (TensorNotFound).
    /// </summary>
    static void RefuseMissingIndexed(ICheckpointStorage storage, Dictionary<string, List<(TensorEntry Chunk, long[] Offsets)>> chunks)
    {
        var index = HfIndex.Read(storage, IndexFile);
        foreach (var (tensor, file) in index.WeightMap.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (!chunks.TryGetValue(tensor, out var parts) || !parts.Any(p => p.Chunk.Fragments[0].Payload.File == file))
                throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, file, tensor,
                    $"{IndexFile} places this tensor in '{file}' but that file does not hold it");
    }

    static TensorEntry Assemble(string name, List<(TensorEntry Chunk, long[] Offsets)> parts)
    {
        var dtype = parts[0].Chunk.DType;
        if (parts.FirstOrDefault(p => p.Chunk.DType != dtype) is { Chunk: not null } other)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, other.Chunk.Fragments[0].Payload.File, name,
                "the chunks of the tensor disagree on its dtype", dtype.ToString(), other.Chunk.DType.ToString());
        var shape = new long[parts[0].Chunk.Rank];
        foreach (var (chunk, at) in parts)
            for (int d = 0; d < shape.Length; d++) shape[d] = Math.Max(shape[d], checked(at[d] + chunk.Shape[d]));
        var fragments = parts.Select(p => p.Chunk.Fragments[0] with { Offsets = p.Offsets }).ToArray();
        return new TensorEntry(name, dtype, shape, fragments);
    }

    static Dictionary<string, long[]>? SavedOffsets(string file, SafetensorsHeader header)
    {
        if (!header.Metadata.TryGetValue(ShardingKey, out var json)) return null;
        var result = new Dictionary<string, long[]>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonLimits.Parse(json, file, FormatErrorReason.MetadataInvalid);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidOperationException("not an object");
            foreach (var tensor in doc.RootElement.EnumerateObject())
                result[tensor.Name] = tensor.Value.GetProperty("saved_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, null,
                "DCP_SHARDING_INFO is not a JSON object of {\"saved_offsets\": [integers]} per tensor", inner: e);
        }
        foreach (var t in header.Tensors)
            if (!result.ContainsKey(t.Name))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, t.Name, "DCP_SHARDING_INFO does not name the tensor");
        return result;
    }
}
