using Ckpt.Formats.Text;

namespace Ckpt.Models;

/// <summary>
/// What a model folder says about generating: `generation_config.json` (eos_token_id, do_sample, temperature, top_k,
/// top_p), with `config.json`'s eos_token_id when the former has none. eos_token_id may be one id or a list (LLaMA 3
/// stops at both &lt;|end_of_text|&gt; and &lt;|eot_id|&gt;). Absent values stay null: transformers' defaults apply.
/// </summary>
public sealed record GenerationDefaults(IReadOnlyList<int> EosTokenIds, bool? DoSample, double? Temperature, int? TopK, double? TopP)
{
    public static GenerationDefaults None { get; } = new([], null, null, null, null);

    public static GenerationDefaults Read(string modelFolder)
    {
        var generation = Parse(Path.Combine(modelFolder, "generation_config.json"));
        var eos = generation is { } g ? EosIds(g) : null;
        if (eos is null && Parse(Path.Combine(modelFolder, "config.json")) is { } config) eos = EosIds(config);
        if (generation is not { } root) return None with { EosTokenIds = eos ?? [] };
        return new GenerationDefaults(eos ?? [],
            root.TryGetProperty("do_sample", out var s) && s.ValueKind is JsonValueKind.True or JsonValueKind.False ? s.GetBoolean() : null,
            Number(root, "temperature"), Number(root, "top_k") is double k ? (int)k : null, Number(root, "top_p"));
    }

    static JsonElement? Parse(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonLimits.Parse(RegularFile.ReadAllBytes(path), path, FormatErrorReason.MetadataInvalid);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, path, null, $"{Path.GetFileName(path)} is not valid JSON", inner: e);
        }
    }

    static List<int>? EosIds(JsonElement root) => !root.TryGetProperty("eos_token_id", out var v) ? null : v.ValueKind switch
    {
        JsonValueKind.Number => [v.GetInt32()],
        JsonValueKind.Array => v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Select(e => e.GetInt32()).ToList(),
        _ => null,
    };

    static double? Number(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}
