using TorchSharp.Modules;

namespace Ckpt.Models;

/// <summary>
/// One pre-norm decoder layer: x + attn(norm(x)), then + mlp(norm(x)). Gemma 2 normalises the attention and MLP outputs
/// as well: x + norm(attn(norm(x))), then + norm(mlp(norm(x))), its post_attention_layernorm being the attention's output norm.
/// </summary>
public sealed class LlamaDecoderLayer : NamedModule
{
    public RmsNorm InputLayerNorm { get; }
    public LlamaAttention SelfAttention { get; }
    public RmsNorm PostAttentionLayerNorm { get; }
    public LlamaMlp Mlp { get; }
    public RmsNorm? PreFeedforwardLayerNorm { get; }
    public RmsNorm? PostFeedforwardLayerNorm { get; }

    public LlamaDecoderLayer(string name, LlamaConfig config, ScalarType dtype, Device device) : base(name)
    {
        RmsNorm Norm(string n) => new(n, config.HiddenSize, config.RmsNormEps, dtype, device, config.NormUnitOffset);
        InputLayerNorm = Norm("input_layernorm");
        SelfAttention = new LlamaAttention("self_attn", config, dtype, device);
        PostAttentionLayerNorm = Norm("post_attention_layernorm");
        Mlp = new LlamaMlp("mlp", config, dtype, device);
        register_module("input_layernorm", InputLayerNorm);
        register_module("self_attn", SelfAttention);
        register_module("post_attention_layernorm", PostAttentionLayerNorm);
        register_module("mlp", Mlp);
        if (config.SandwichNorms)
        {
            PreFeedforwardLayerNorm = Norm("pre_feedforward_layernorm");
            PostFeedforwardLayerNorm = Norm("post_feedforward_layernorm");
            register_module("pre_feedforward_layernorm", PreFeedforwardLayerNorm);
            register_module("post_feedforward_layernorm", PostFeedforwardLayerNorm);
        }
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward(x, cos, sin, mask)");

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, LayerKeyValues? cache = null)
    {
        using var scope = NewDisposeScope();
        var attended = SelfAttention.Forward(InputLayerNorm.forward(x), cos, sin, mask, cache);
        if (PreFeedforwardLayerNorm is null)
        {
            var h = x.Plus(attended);
            return h.Plus(Mlp.forward(PostAttentionLayerNorm.forward(h))).MoveToOuterDisposeScope();
        }
        var g = x.Plus(PostAttentionLayerNorm.forward(attended));
        return g.Plus(PostFeedforwardLayerNorm!.forward(Mlp.forward(PreFeedforwardLayerNorm.forward(g)))).MoveToOuterDisposeScope();
    }
}

/// <summary>The decoder stack (HF `LlamaModel`, registered as `model`).</summary>
public sealed class LlamaModel : NamedModule
{
    public Parameter EmbedTokens { get; }
    public ModuleList<LlamaDecoderLayer> Layers { get; }
    public RmsNorm Norm { get; }

    public LlamaModel(string name, LlamaConfig config, ScalarType dtype, Device device) : base(name)
    {
        var embed = new WeightMatrix(config.VocabSize, config.HiddenSize, dtype, device);
        EmbedTokens = embed.Weight;
        Layers = new ModuleList<LlamaDecoderLayer>();
        for (int i = 0; i < config.NumLayers; i++) Layers.Add(new LlamaDecoderLayer($"{i}", config, dtype, device));
        Norm = new RmsNorm("norm", config.HiddenSize, config.RmsNormEps, dtype, device, config.NormUnitOffset);
        register_module("embed_tokens", embed);
        register_module("layers", Layers);
        register_module("norm", Norm);
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("LlamaForCausalLm.Forward runs the stack");
}

/// <summary>HF `LlamaForCausalLM`: embeddings, decoder layers, final norm, lm_head (or the embedding when tied).</summary>
public sealed class LlamaForCausalLm : CausalLanguageModel
{
    readonly LlamaConfig _config;
    public LlamaModel Model { get; }
    public Parameter? LmHead { get; }

    public LlamaForCausalLm(LlamaConfig config, ScalarType dtype, Device device) : base("LlamaForCausalLM", config, dtype, device)
    {
        _config = config;
        Model = new LlamaModel("model", config, dtype, device);
        register_module("model", Model);
        LmHead = RegisterLmHead();
    }

    public override Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null)
    {
        RefuseBeyondWindow(inputIds.shape[1]);
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        var h = Embed(inputIds);
        var (cos, sin) = positionIds is null
            ? RotaryEmbedding.Table(t, _config, DType, Device)
            : RotaryEmbedding.Table(positionIds.to(Device), _config, DType);
        var mask = attentionMask is null ? null : AttentionMask(t, attentionMask, Device);
        bool masked = mask is not null;
        foreach (var layer in Model.Layers) h = Layer((x, c) => layer.Forward(x, c[0], c[1], masked ? c[2] : null), h, cos, sin, mask);
        return Head(h).MoveToOuterDisposeScope();
    }

    public override Tensor Forward(Tensor inputIds, KeyValueCache cache)
    {
        RefuseBeyondWindow(cache.Length + inputIds.shape[1]);
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        var h = Embed(inputIds);
        // RoPE continues from the cached tokens' positions.
        var positions = KeptScalars.Arange(cache.Length, cache.Length + t, ScalarType.Int64, Device).unsqueeze(0);
        var (cos, sin) = RotaryEmbedding.Table(positions, _config, DType);
        for (int i = 0; i < Model.Layers.Count; i++) h = Model.Layers[i].Forward(h, cos, sin, null, cache[i]);
        return Head(h).MoveToOuterDisposeScope();
    }

    Tensor Embed(Tensor inputIds)
    {
        var h = Model.EmbedTokens.index_select(0, inputIds.reshape(-1).to(Device)).view(inputIds.shape[0], inputIds.shape[1], -1);
        // Gemma's normalizer is a tensor of the embedding dtype: √hidden is rounded to bf16 in a bf16 model.
        return _config.ScaleEmbeddings ? h.mul(tensor(Math.Sqrt(_config.HiddenSize), h.dtype, h.device)) : h;
    }

    Tensor Head(Tensor h)
    {
        var logits = nn.functional.linear(Model.Norm.forward(h), LmHead ?? Model.EmbedTokens);
        return _config.FinalLogitSoftcap is double cap ? logits.Over(cap).tanh().Times(cap) : logits;
    }

    /// <summary>
    /// Sliding-window layers are not masked here; up to the window (a query sees itself and the window − 1 keys before it,
    /// transformers' sliding_window_causal) no key is hidden, so the logits are exact; beyond it they would not be.
    /// </summary>
    void RefuseBeyondWindow(long length)
    {
        if (_config.SlidingWindow is long window && length > window)
            throw new Errors.CheckpointFormatException(Errors.FormatErrorReason.Unsupported, "config.json", null,
                $"sliding_window {window} is not implemented for sequences longer than the window ({length} tokens)",
                $"at most {window} tokens", $"{length}");
    }
}
