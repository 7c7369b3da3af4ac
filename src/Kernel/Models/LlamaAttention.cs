using TorchSharp;
using static TorchSharp.torch;

namespace Ckpt.Models;

/// <summary>LLaMA self-attention with grouped KV heads (each KV head serves NumHeads/NumKeyValueHeads query heads).</summary>
public sealed class LlamaAttention : NamedModule
{
    readonly LlamaConfig _config;
    public Projection QProj { get; }
    public Projection KProj { get; }
    public Projection VProj { get; }
    public Projection OProj { get; }

    public LlamaAttention(string name, LlamaConfig config, ScalarType dtype, Device device) : base(name)
    {
        _config = config;
        long h = config.HiddenSize, d = config.HeadDim;
        QProj = new Projection("q_proj", h, config.NumHeads * d, config.AttentionBias, false, dtype, device);
        KProj = new Projection("k_proj", h, config.NumKeyValueHeads * d, config.AttentionBias, false, dtype, device);
        VProj = new Projection("v_proj", h, config.NumKeyValueHeads * d, config.AttentionBias, false, dtype, device);
        OProj = new Projection("o_proj", config.NumHeads * d, h, config.AttentionBias, false, dtype, device);
        register_module("q_proj", QProj);
        register_module("k_proj", KProj);
        register_module("v_proj", VProj);
        register_module("o_proj", OProj);
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward(x, cos, sin, mask)");

    /// <param name="cache">When given, this call's keys and values are appended to it and the queries attend to all of them (incremental decoding).</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, LayerKeyValues? cache = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = _config.HeadDim;
        int heads = _config.NumHeads, kvHeads = _config.NumKeyValueHeads;
        var q = QProj.forward(x).view(b, t, heads, d).transpose(1, 2);
        var k = KProj.forward(x).view(b, t, kvHeads, d).transpose(1, 2);
        var v = VProj.forward(x).view(b, t, kvHeads, d).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        long past = cache?.Length ?? 0;
        if (cache is not null) (k, v) = cache.Append(k, v);
        if (heads != kvHeads)
        {
            // repeat_kv: KV head j serves query heads j·g … j·g+g−1.
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        var attended = past > 0 ? CachedAttention.Attend(q, k, v, past)
            : mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
            : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        var merged = attended.transpose(1, 2).reshape(b, t, heads * d);
        return OProj.forward(merged).MoveToOuterDisposeScope();
    }
}
