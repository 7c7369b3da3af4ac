using System.Text.Json.Nodes;
using Ckpt.Formats.Dcp;
using Ckpt.Formats.Safetensors;
using Ckpt.Outputs;
using Ckpt.Planning;

namespace Ckpt.Cluster;

/// <summary>
/// What each part of a per-rank run records so that `ckpt finalize` can write the index the single-process run writes,
/// byte for byte: for DCP every input of <see cref="DcpMetadataWriter.Pickle"/> (tensors with their chunk boxes, bytes
/// items, planner data) plus each part's stored items; for sharded safetensors the weight map and totals of
/// `model.safetensors.index.json`.
/// </summary>
public static class PartIndex
{
    public static JsonObject Dcp(IReadOnlyList<DcpTensorWrite> tensors, IReadOnlyList<DcpBytesWrite> bytesItems,
        IReadOnlyDictionary<string, IReadOnlyList<object>>? plannerData) => new()
    {
        ["format"] = "dcp",
        ["tensors"] = new JsonArray(tensors.Select(t => (JsonNode)new JsonObject
        {
            ["fqn"] = t.Fqn,
            ["dtype"] = t.DType.ToString(),
            ["shape"] = Longs(t.Shape),
            ["chunks"] = new JsonArray(DcpMetadataWriter.Chunks(t).Select(b => (JsonNode)new JsonArray(Longs(b.Offsets), Longs(b.Lengths))).ToArray()),
        }).ToArray()),
        ["bytes"] = new JsonArray(bytesItems.Select(b => (JsonNode)b.Fqn).ToArray()),
        ["plannerData"] = plannerData is null ? null : new JsonObject(plannerData.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv =>
            KeyValuePair.Create(kv.Key, (JsonNode?)new JsonArray(kv.Value.Select(p => p is string s ? (JsonNode)s : Convert.ToInt64(p)).ToArray())))),
    };

    /// <summary>Where this part's DCP items landed, file by file in rank order.</summary>
    public static JsonArray Stored(IEnumerable<DcpRankFile> files) => new(files.Select(f => (JsonNode)new JsonObject
    {
        ["rank"] = f.Rank,
        ["file"] = f.File,
        ["items"] = new JsonArray(f.Items.Select(i => (JsonNode)new JsonObject
        {
            ["fqn"] = i.Fqn,
            ["offsets"] = i.Offsets is null ? null : Longs(i.Offsets),
            ["offset"] = i.Offset,
            ["length"] = i.Length,
        }).ToArray()),
    }).ToArray());

    public static JsonObject Safetensors(string indexName, long totalParameters, long totalSize, IReadOnlyDictionary<string, string> weightMap) => new()
    {
        ["format"] = "safetensors",
        ["name"] = indexName,
        ["totalParameters"] = totalParameters,
        ["totalSize"] = totalSize,
        ["weightMap"] = new JsonObject(weightMap.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
    };

    /// <summary>Writes the index of the run <paramref name="parts"/> (in part order) into <paramref name="folder"/>; returns its file names.</summary>
    public static IReadOnlyList<string> Write(IReadOnlyList<PartRecord> parts, string folder)
    {
        var index = parts[0].Index;
        switch (index["format"]?.GetValue<string>())
        {
            case "dcp":
            {
                var tensors = index["tensors"]!.AsArray().Select(t => new DcpTensorWrite(t!["fqn"]!.GetValue<string>(),
                    DTypeOf(t["dtype"]!.GetValue<string>()), ReadLongs(t["shape"]!),
                    t["chunks"]!.AsArray().Select(c => new DcpChunkWrite(0, new Box(ReadLongs(c![0]!), ReadLongs(c[1]!)), NoData)).ToArray())).ToArray();
                var bytes = index["bytes"]!.AsArray().Select(b => new DcpBytesWrite(b!.GetValue<string>(), 0, [])).ToArray();
                var plannerData = index["plannerData"] is JsonObject pd
                    ? pd.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<object>)kv.Value!.AsArray()
                        .Select(p => p!.GetValueKind() == JsonValueKind.String ? (object)p.GetValue<string>() : p.GetValue<long>()).ToArray(), StringComparer.Ordinal)
                    : null;
                // The single-process writer lists items rank by rank, each rank's in file order.
                var stored = parts.SelectMany(p => p.Stored).Select(f => f!.AsObject()).OrderBy(f => f["rank"]!.GetValue<int>())
                    .SelectMany(f => f["items"]!.AsArray().Select(i => new DcpStoredItem(i!["fqn"]!.GetValue<string>(),
                        i["offsets"] is JsonArray o ? ReadLongs(o) : null, f["file"]!.GetValue<string>(), i["offset"]!.GetValue<long>(), i["length"]!.GetValue<long>())))
                    .ToArray();
                DcpWriter.WriteMetadata(folder, tensors, bytes, stored, plannerData);
                return [DcpWriter.MetadataFileName];
            }
            case "safetensors":
            {
                var name = index["name"]!.GetValue<string>();
                var weightMap = index["weightMap"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal);
                ShardedSafetensorsWriter.WriteIndex(Path.Combine(folder, name), index["totalParameters"]!.GetValue<long>(), index["totalSize"]!.GetValue<long>(), weightMap);
                return [name];
            }
            default:
                throw new InvalidDataException($"{parts[0].Name()} records an index format this version of ckpt does not write");
        }
    }

    static TensorData NoData() => throw new InvalidOperationException("finalize writes the index only");

    static DType DTypeOf(string name) =>
        Enum.TryParse<DType>(name, out var d) ? d : throw new InvalidDataException($"a part records the dtype {name}, which ckpt does not know");

    static JsonArray Longs(IEnumerable<long> values) => new(values.Select(v => (JsonNode)v).ToArray());

    static long[] ReadLongs(JsonNode node) => node.AsArray().Select(v => v!.GetValue<long>()).ToArray();
}
