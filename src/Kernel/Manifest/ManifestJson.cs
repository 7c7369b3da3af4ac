using System.Text.Json.Nodes;

namespace Ckpt.Manifest;

/// <summary>
/// The machine-readable description of a manifest (the `ckpt inspect --json` contract that scripts depend
/// on): format, framework, worldSize, parameterCount, totalBytes, files, metadata, tensors, objects.
/// </summary>
public static class ManifestJson
{
    /// <summary>
    /// `ckpt inspect --json`'s document (docs/json.md): <see cref="ToJson(CheckpointManifest, string)"/> and `read`, what
    /// describing it cost: headers and metadata only (from a bucket, the bytes of its ranged GETs).
    /// </summary>
    public static JsonObject ToJson(Checkpoint checkpoint)
    {
        var report = ToJson(checkpoint.Manifest, checkpoint.Path);
        var io = checkpoint.Storage.Statistics;
        report["read"] = new JsonObject
        {
            ["metadataBytes"] = io.MetadataBytesRead,
            ["tensorBytes"] = io.TensorBytesRead,
            ["reads"] = io.ReadCalls,
        };
        return report;
    }

    public static JsonObject ToJson(CheckpointManifest m, string path) => new()
    {
        ["path"] = path,
        ["format"] = m.Format,
        ["framework"] = m.Framework,
        ["worldSize"] = m.Layout.WorldSize,
        ["mesh"] = new JsonArray(m.Layout.Mesh.Select(x => (JsonNode)x).ToArray()),
        ["layout"] = m.Layout.Description,
        ["parameterCount"] = m.ParameterCount,
        ["tensorBytes"] = m.TensorBytes,
        ["totalBytes"] = m.TotalBytes,
        ["parametersByDtype"] = new JsonObject(m.ParametersByDType.Select(kv => KeyValuePair.Create(kv.Key.ToString(), (JsonNode?)kv.Value))),
        ["files"] = new JsonArray(m.Files.Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["bytes"] = f.Length }).ToArray()),
        ["metadata"] = new JsonObject(m.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["tensors"] = new JsonArray(m.Tensors.Select(t => (JsonNode)new JsonObject
        {
            ["name"] = t.Name,
            ["dtype"] = t.DType.ToString(),
            ["shape"] = new JsonArray(t.Shape.Select(x => (JsonNode)x).ToArray()),
            ["bytes"] = t.ByteCount,
            ["fragments"] = t.Fragments.Count,
        }).ToArray()),
        ["objects"] = new JsonArray(m.Objects.Select(o => (JsonNode)new JsonObject
        {
            ["name"] = o.Name,
            ["kind"] = o.Kind,
            ["value"] = Describe(o.Value),
        }).ToArray()),
    };

    /// <summary>A short, bounded text rendering of an inert pickled value.</summary>
    public static string Describe(object? value, int max = 200)
    {
        var s = value switch
        {
            null => "None",
            string str => str,
            byte[] b => $"<{b.Length} bytes>",
            // Unpickled values may be cyclic or deeply nested; PyRepr is bounded in depth and length.
            Pickle.PyList or Pickle.PyTuple or Pickle.PyDict or Pickle.PySet or Pickle.PyObject => Pickle.PyRepr.Of(value),
            System.Collections.IEnumerable e and not string => "[" + string.Join(", ", e.Cast<object?>().Take(8).Select(x => Describe(x, 40))) + "]",
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
        return s.Length <= max ? s : s[..max] + "…";
    }
}
