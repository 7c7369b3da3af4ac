using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Ckpt.Outputs;

/// <summary>
/// `part-00001-of-00004.json`: what one process of a per-rank run (`--rank 1 --ranks 4`) wrote into the parts area of an
/// output, and what `ckpt finalize` needs to write the index once every part exists. <see cref="Index"/> is the same in
/// every part of one run (the whole output's description: DCP's tensors and chunks, or a safetensors weight map);
/// <see cref="Stored"/> is this part's own share of it (where its DCP items landed). <see cref="Job"/> is a digest of
/// the verb, the inputs, the number of parts and the index, so parts of two different runs are never combined.
/// </summary>
public sealed record PartRecord(string Job, string Verb, int Part, int Parts, IReadOnlyList<string> Inputs,
    IReadOnlyDictionary<string, long> Files, JsonObject Index, JsonArray Stored, bool Complete, DateTimeOffset Written)
{
    public const string Writer = "ckpt";

    /// <summary>`part-00001-of-00004`: the part's name in the parts area.</summary>
    public static string Name(int part, int parts) => $"part-{part:D5}-of-{parts:D5}";

    public string Name() => Name(Part, Parts);

    /// <summary>The digest naming one run: the same for every part of it, different for another source, layout or split.</summary>
    public static string JobOf(string verb, IReadOnlyList<string> inputs, int parts, JsonObject index)
    {
        var text = JsonSerializer.Serialize(new JsonArray(verb, new JsonArray(inputs.Select(i => (JsonNode)i).ToArray()), parts, index.DeepClone()));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(new JsonObject
    {
        ["writtenBy"] = Writer,
        ["job"] = Job,
        ["verb"] = Verb,
        ["part"] = Part,
        ["parts"] = Parts,
        ["complete"] = Complete,
        ["written"] = Written.ToString("O"),
        ["inputs"] = new JsonArray(Inputs.Select(i => (JsonNode)i).ToArray()),
        ["files"] = new JsonObject(Files.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["index"] = Index.DeepClone(),
        ["stored"] = Stored.DeepClone(),
    });

    /// <summary>The record in <paramref name="bytes"/>, or null when they are not a part record Ckpt wrote.</summary>
    public static PartRecord? Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            if (JsonNode.Parse(bytes) is not JsonObject o || o["writtenBy"]?.GetValue<string>() != Writer) return null;
            return new PartRecord(o["job"]!.GetValue<string>(), o["verb"]!.GetValue<string>(), o["part"]!.GetValue<int>(), o["parts"]!.GetValue<int>(),
                o["inputs"]!.AsArray().Select(i => i!.GetValue<string>()).ToArray(),
                o["files"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<long>(), StringComparer.Ordinal),
                o["index"]!.AsObject(), o["stored"]!.AsArray(), o["complete"]!.GetValue<bool>(), DateTimeOffset.Parse(o["written"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException or KeyNotFoundException) { return null; }
    }
}
