using Ckpt.Formats.Text;

namespace Ckpt.Models;

/// <summary>The architecture a HF `config.json` describes: the subset the LLaMA-style decoder and GPT-2 modules need.</summary>
public abstract record ModelConfig
{
    public required string ModelType { get; init; }
    public required long VocabSize { get; init; }
    public required long HiddenSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public bool TieWordEmbeddings { get; init; }

    /// <summary>Reads `config.json` at the checkpoint's root.</summary>
    public static ModelConfig Read(Checkpoint checkpoint)
    {
        if (!checkpoint.Storage.Exists("config.json"))
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, checkpoint.Path, null,
                "a model needs the config.json written beside the weights (or a config passed explicitly)", "config.json", "none");
        var bytes = new byte[checkpoint.Storage.Length("config.json")];
        checkpoint.Storage.Read("config.json", 0, bytes, IoCategory.Metadata);
        return Parse(bytes, System.IO.Path.Combine(checkpoint.Path, "config.json"));
    }

    public static ModelConfig ReadFile(string path) => Parse(RegularFile.ReadAllBytes(path), path);

    public static ModelConfig Parse(ReadOnlySpan<byte> json, string source)
    {
        JsonElement root;
        try { root = JsonLimits.Parse(json.ToArray(), source, FormatErrorReason.MetadataInvalid).RootElement; }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, source, null, "config.json is not valid JSON", inner: e);
        }
        var type = root.TryGetProperty("model_type", out var t) ? t.GetString() : null;
        return type switch
        {
            "gpt2" => Gpt2Config.FromJson(root, source),
            _ when LlamaConfig.Families.Contains(type) => LlamaConfig.FromJson(root, source),
            _ => throw new CheckpointFormatException(FormatErrorReason.Unsupported, source, null,
                $"model_type {type ?? "none"} cannot be built", $"model_type {string.Join(", ", LlamaConfig.Families)} or gpt2", type ?? "none"),
        };
    }

    internal static long Required(JsonElement root, string key, string source) =>
        root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64()
        : throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, source, null, $"config.json lacks the number {key}");

    internal static long? Optional(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    internal static double? OptionalDouble(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    internal static bool OptionalBool(JsonElement root, string key, bool fallback) =>
        root.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
}

/// <summary>GPT-2 (transformers GPT2Config): learned positions, pre-LN blocks, gelu_new, tied head.</summary>
public sealed record Gpt2Config : ModelConfig
{
    public required long MaxPositions { get; init; }
    public required long InnerSize { get; init; }
    public double LayerNormEps { get; init; } = 1e-5;

    internal static Gpt2Config FromJson(JsonElement root, string source)
    {
        long embd = Required(root, "n_embd", source);
        if (root.TryGetProperty("activation_function", out var act) && act.GetString() is { } a && a != "gelu_new")
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, source, null,
                "only GPT-2's gelu_new activation is implemented", "gelu_new", a);
        return new Gpt2Config
        {
            ModelType = "gpt2",
            VocabSize = Required(root, "vocab_size", source),
            HiddenSize = embd,
            NumLayers = (int)Required(root, "n_layer", source),
            NumHeads = (int)Required(root, "n_head", source),
            MaxPositions = Required(root, "n_positions", source),
            InnerSize = Optional(root, "n_inner") ?? 4 * embd,
            LayerNormEps = OptionalDouble(root, "layer_norm_epsilon") ?? 1e-5,
            TieWordEmbeddings = OptionalBool(root, "tie_word_embeddings", true),
        };
    }
}
