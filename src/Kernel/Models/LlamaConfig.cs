namespace Ckpt.Models;

/// <summary>
/// The LLaMA-style decoders (transformers LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config, Phi3Config, Gemma2Config): GQA,
/// RoPE, RMSNorm, SwiGLU, differing only in the switches below. Each family's fields that change the numbers are read
/// deliberately (<see cref="FromJson"/>); a field that would change them and is not implemented is refused by name.
/// </summary>
public sealed record LlamaConfig : ModelConfig
{
    /// <summary>The model_type values this record describes.</summary>
    public static readonly IReadOnlyList<string> Families = ["llama", "mistral", "qwen2", "qwen3", "phi3", "gemma2"];

    public required long IntermediateSize { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required long HeadDim { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    public RopeScaling RopeScaling { get; init; } = RopeScaling.None;
    /// <summary>Where dynamic NTK scaling starts to stretch θ.</summary>
    public long MaxPositionEmbeddings { get; init; } = 2048;
    /// <summary>The share of each head that RoPE rotates (Phi-3's partial_rotary_factor); the rest passes through.</summary>
    public double PartialRotaryFactor { get; init; } = 1;
    /// <summary>Biases on q_proj, k_proj and v_proj (LLaMA's attention_bias, always on in Qwen2).</summary>
    public bool AttentionBias { get; init; }
    /// <summary>A bias on o_proj: LLaMA's attention_bias covers it, Qwen2's q/k/v biases do not.</summary>
    public bool OutputBias { get; init; }
    public bool MlpBias { get; init; }
    /// <summary>Qwen3's per-head RMSNorm of queries and keys (q_norm, k_norm over head_dim), before RoPE.</summary>
    public bool QueryKeyNorm { get; init; }
    /// <summary>Phi-3's fused weights: qkv_proj = [q; k; v] and gate_up_proj = [gate; up], stacked on the output axis.</summary>
    public bool FusedProjections { get; init; }
    /// <summary>Gemma: embeddings × √hidden, rounded to the embedding dtype as transformers' normalizer is.</summary>
    public bool ScaleEmbeddings { get; init; }
    /// <summary>Gemma's RMSNorm: x̂ · (1 + w), in fp32, cast back afterwards.</summary>
    public bool NormUnitOffset { get; init; }
    /// <summary>Gemma 2: the attention and MLP outputs are normalised too (post_attention_layernorm, post_feedforward_layernorm), the MLP input by pre_feedforward_layernorm.</summary>
    public bool SandwichNorms { get; init; }
    /// <summary>GeGLU with the tanh-approximated GELU (gelu_pytorch_tanh) in place of SwiGLU's silu.</summary>
    public bool TanhGelu { get; init; }
    /// <summary>Scores are scaled by this^−½ instead of head_dim^−½ (Gemma's query_pre_attn_scalar).</summary>
    public double? QueryPreAttnScalar { get; init; }
    /// <summary>Scores become cap·tanh(scores/cap) before the mask (attn_logit_softcapping).</summary>
    public double? AttentionSoftcap { get; init; }
    /// <summary>Logits become cap·tanh(logits/cap) (final_logit_softcapping).</summary>
    public double? FinalLogitSoftcap { get; init; }
    /// <summary>Keys further back than this many tokens are hidden in some layers; null when no layer has a window.</summary>
    public long? SlidingWindow { get; init; }

    internal long RotaryDim => (long)(HeadDim * PartialRotaryFactor);

    internal static LlamaConfig FromJson(JsonElement root, string source)
    {
        var type = root.GetProperty("model_type").GetString()!;
        long hidden = Required(root, "hidden_size", source);
        int heads = (int)Required(root, "num_attention_heads", source);
        RefuseUnimplemented(root, type, source);
        double theta = OptionalDouble(root, "rope_theta") ?? 10000;
        var scaling = RopeScaling.None;
        // transformers 5 moved rope_theta (and the scaling) into rope_parameters; 4.x used rope_theta + rope_scaling.
        foreach (var key in new[] { "rope_parameters", "rope_scaling" })
        {
            if (!root.TryGetProperty(key, out var rope) || rope.ValueKind != JsonValueKind.Object) continue;
            theta = OptionalDouble(rope, "rope_theta") ?? theta;
            scaling = RopeScaling.FromJson(rope, source);
        }
        bool qkvBias = type switch
        {
            "qwen2" => true, // Qwen2Attention: q/k/v always biased, o_proj never; no config field
            "phi3" => false, // Phi3Attention: no biases
            _ => OptionalBool(root, "attention_bias", false),
        };
        bool gemma = type == "gemma2";
        return new LlamaConfig
        {
            ModelType = type,
            VocabSize = Required(root, "vocab_size", source),
            HiddenSize = hidden,
            NumLayers = (int)Required(root, "num_hidden_layers", source),
            NumHeads = heads,
            NumKeyValueHeads = (int)(Optional(root, "num_key_value_heads") ?? heads),
            HeadDim = Optional(root, "head_dim") ?? hidden / heads,
            IntermediateSize = Required(root, "intermediate_size", source),
            RmsNormEps = OptionalDouble(root, "rms_norm_eps") ?? 1e-6,
            RopeTheta = theta,
            RopeScaling = scaling,
            MaxPositionEmbeddings = Optional(root, "max_position_embeddings") ?? 2048,
            PartialRotaryFactor = OptionalDouble(root, "partial_rotary_factor") ?? 1,
            AttentionBias = qkvBias,
            OutputBias = type is "llama" or "mistral" or "qwen3" or "gemma2" && qkvBias,
            MlpBias = type == "llama" && OptionalBool(root, "mlp_bias", false),
            QueryKeyNorm = type == "qwen3",
            FusedProjections = type == "phi3",
            SlidingWindow = Window(root, type),
            ScaleEmbeddings = gemma,
            NormUnitOffset = gemma,
            SandwichNorms = gemma,
            TanhGelu = gemma,
            QueryPreAttnScalar = gemma ? OptionalDouble(root, "query_pre_attn_scalar") ?? 256 : null,
            AttentionSoftcap = gemma ? OptionalDouble(root, "attn_logit_softcapping") : null,
            FinalLogitSoftcap = gemma ? OptionalDouble(root, "final_logit_softcapping") : null,
            // Gemma2Config ties by default; the others do not.
            TieWordEmbeddings = OptionalBool(root, "tie_word_embeddings", gemma),
        };
    }

    /// <summary>
    /// The window, when some layer of this family has one. Mistral and Phi-3 window every layer when sliding_window is
    /// set; Qwen2/Qwen3 only with use_sliding_window (then layers from max_window_layers up). The forward refuses a
    /// sequence longer than the window instead of masking: up to it, every layer sees every earlier key either way.
    /// </summary>
    static long? Window(JsonElement root, string type)
    {
        var window = Optional(root, "sliding_window");
        // transformers ≥ 4.53 spells the windowed layers out in layer_types.
        bool listed = root.TryGetProperty("layer_types", out var layers) && layers.ValueKind == JsonValueKind.Array
            && layers.EnumerateArray().Any(l => l.GetString() == "sliding_attention");
        return type switch
        {
            "mistral" or "phi3" => window,
            "gemma2" => window, // every other layer, from layer 0
            "qwen2" or "qwen3" => OptionalBool(root, "use_sliding_window", false) || listed ? window : null,
            _ => listed ? window : null,
        };
    }

    /// <summary>
    /// Fields that would change the logits of some family and are not implemented for this one, each refused when set to
    /// anything but its neutral value. Fields that cannot change a forward (token ids, dropout, init ranges, use_cache)
    /// are not listed.
    /// </summary>
    static void RefuseUnimplemented(JsonElement root, string type, string source)
    {
        void Refuse(string field, string found, string expected) =>
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, source, null,
                $"{field} {found} is not implemented for model_type {type}", expected, found);

        var activation = type == "gemma2" ? "gelu_pytorch_tanh" : "silu";
        foreach (var key in new[] { "hidden_act", "hidden_activation" })
            if (root.TryGetProperty(key, out var act) && act.ValueKind == JsonValueKind.String && act.GetString() != activation)
                Refuse(key, act.GetString()!, activation);
        // Gemma's, Granite's and SmolLM3's knobs: meaningful only in their own modeling files.
        var foreign = new[] { "embedding_multiplier", "residual_multiplier", "attention_multiplier", "logits_scaling", "no_rope_layers" };
        if (type != "gemma2") foreign = [.. foreign, "attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar"];
        foreach (var key in foreign)
            if (root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null)
                Refuse(key, v.ToString(), "absent or null");
        if (type != "llama" && OptionalBool(root, "mlp_bias", false)) Refuse("mlp_bias", "true", "false");
        if (type is "qwen2" or "phi3" && OptionalBool(root, "attention_bias", type == "qwen2") != (type == "qwen2"))
            Refuse("attention_bias", type == "qwen2" ? "false" : "true", type == "qwen2" ? "true (Qwen2 always biases q/k/v)" : "false");
        if (root.TryGetProperty("layer_types", out var layers) && layers.ValueKind == JsonValueKind.Array
            && layers.EnumerateArray().Any(l => l.GetString() is { } s && s != "full_attention" && s != "sliding_attention"))
            Refuse("layer_types", layers.ToString(), "full_attention or sliding_attention");
    }
}
