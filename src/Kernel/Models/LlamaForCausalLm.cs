using Ckpt.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ckpt.Models;

/// <summary>One pre-norm decoder layer: x + attn(norm(x)), then + mlp(norm(x)).</summary>
public sealed class LlamaDecoderLayer : NamedModule
{
    public RmsNorm InputLayerNorm { get; }
    public LlamaAttention SelfAttention { get; }
    public RmsNorm PostAttentionLayerNorm { get; }
    public LlamaMlp Mlp { get; }

    public LlamaDecoderLayer(string name, LlamaConfig config, ScalarType dtype, Device device) : base(name)
    {
        InputLayerNorm = new RmsNorm("input_layernorm", config.HiddenSize, config.RmsNormEps, dtype, device);
        SelfAttention = new LlamaAttention("self_attn", config, dtype, device);
        PostAttentionLayerNorm = new RmsNorm("post_attention_layernorm", config.HiddenSize, config.RmsNormEps, dtype, device);
        Mlp = new LlamaMlp("mlp", config, dtype, device);
        register_module("input_layernorm", InputLayerNorm);
        register_module("self_attn", SelfAttention);
        register_module("post_attention_layernorm", PostAttentionLayerNorm);
        register_module("mlp", Mlp);
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward(x, cos, sin, mask)");

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, LayerKeyValues? cache = null)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(SelfAttention.Forward(InputLayerNorm.forward(x), cos, sin, mask, cache));
        return h.Plus(Mlp.forward(PostAttentionLayerNorm.forward(h))).MoveToOuterDisposeScope();
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
        Norm = new RmsNorm("norm", config.HiddenSize, config.RmsNormEps, dtype, device);
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
        if (!config.TieWordEmbeddings)
        {
            var head = new WeightMatrix(config.VocabSize, config.HiddenSize, dtype, device);
            LmHead = head.Weight;
            register_module("lm_head", head);
        }
    }

    public override Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null)
    {
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        var h = Model.EmbedTokens.index_select(0, inputIds.reshape(-1).to(Device)).view(b, t, -1);
        var (cos, sin) = positionIds is null
            ? RotaryEmbedding.Table(t, _config.HeadDim, _config.RopeTheta, _config.RopeLinearFactor, DType, Device)
            : RotaryEmbedding.Table(positionIds.to(Device), _config.HeadDim, _config.RopeTheta, _config.RopeLinearFactor, DType);
        var mask = attentionMask is null ? null : AttentionMask(t, attentionMask, Device);
        bool masked = mask is not null;
        foreach (var layer in Model.Layers) h = Layer((x, c) => layer.Forward(x, c[0], c[1], masked ? c[2] : null), h, cos, sin, mask);
        h = Model.Norm.forward(h);
        return nn.functional.linear(h, LmHead ?? Model.EmbedTokens).MoveToOuterDisposeScope();
    }

    public override Tensor Forward(Tensor inputIds, KeyValueCache cache)
    {
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        var h = Model.EmbedTokens.index_select(0, inputIds.reshape(-1).to(Device)).view(b, t, -1);
        // RoPE continues from the cached tokens' positions.
        var positions = arange(cache.Length, cache.Length + t, ScalarType.Int64, Device).unsqueeze(0);
        var (cos, sin) = RotaryEmbedding.Table(positions, _config.HeadDim, _config.RopeTheta, _config.RopeLinearFactor, DType);
        for (int i = 0; i < Model.Layers.Count; i++) h = Model.Layers[i].Forward(h, cos, sin, null, cache[i]);
        h = Model.Norm.forward(h);
        return nn.functional.linear(h, LmHead ?? Model.EmbedTokens).MoveToOuterDisposeScope();
    }
}
