namespace Ckpt.Models;

/// <summary>
/// LLaMA self-attention with grouped KV heads (each KV head serves NumHeads/NumKeyValueHeads query heads); Phi-3 keeps
/// q, k and v in one fused qkv_proj, Qwen3 RMS-normalises each query and key head before RoPE, Gemma 2 soft-caps the scores.
/// </summary>
public sealed class LlamaAttention : NamedModule
{
    readonly LlamaConfig _config;
    public Projection? QProj { get; }
    public Projection? KProj { get; }
    public Projection? VProj { get; }
    /// <summary>Phi-3's [q; k; v] rows in one weight (PEFT targets it as qkv_proj).</summary>
    public Projection? QkvProj { get; }
    public Projection OProj { get; }
    public RmsNorm? QNorm { get; }
    public RmsNorm? KNorm { get; }

    public LlamaAttention(string name, LlamaConfig config, ScalarType dtype, Device device) : base(name)
    {
        _config = config;
        long h = config.HiddenSize, d = config.HeadDim;
        if (config.FusedProjections)
        {
            QkvProj = new Projection("qkv_proj", h, (config.NumHeads + 2 * config.NumKeyValueHeads) * d, config.AttentionBias, false, dtype, device);
            register_module("qkv_proj", QkvProj);
        }
        else
        {
            QProj = new Projection("q_proj", h, config.NumHeads * d, config.AttentionBias, false, dtype, device);
            KProj = new Projection("k_proj", h, config.NumKeyValueHeads * d, config.AttentionBias, false, dtype, device);
            VProj = new Projection("v_proj", h, config.NumKeyValueHeads * d, config.AttentionBias, false, dtype, device);
            register_module("q_proj", QProj);
            register_module("k_proj", KProj);
            register_module("v_proj", VProj);
        }
        OProj = new Projection("o_proj", config.NumHeads * d, h, config.OutputBias, false, dtype, device);
        register_module("o_proj", OProj);
        if (config.QueryKeyNorm)
        {
            QNorm = new RmsNorm("q_norm", d, config.RmsNormEps, dtype, device);
            KNorm = new RmsNorm("k_norm", d, config.RmsNormEps, dtype, device);
            register_module("q_norm", QNorm);
            register_module("k_norm", KNorm);
        }
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward(x, cos, sin, mask)");

    /// <param name="cache">When given, this call's keys and values are appended to it and the queries attend to all of them (incremental decoding).</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, LayerKeyValues? cache = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = _config.HeadDim;
        int heads = _config.NumHeads, kvHeads = _config.NumKeyValueHeads;
        var (q, k, v) = Project(x);
        q = q.view(b, t, heads, d);
        k = k.view(b, t, kvHeads, d);
        if (QNorm is not null) (q, k) = (QNorm.forward(q), KNorm!.forward(k));
        q = RotaryEmbedding.Apply(q.transpose(1, 2), cos, sin);
        k = RotaryEmbedding.Apply(k.transpose(1, 2), cos, sin);
        v = v.view(b, t, kvHeads, d).transpose(1, 2);
        long past = cache?.Length ?? 0;
        if (cache is not null) (k, v) = cache.Append(k, v);
        if (heads != kvHeads)
        {
            // repeat_kv: KV head j serves query heads j·g … j·g+g−1.
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        var attended = _config.QueryPreAttnScalar is double scalar
            ? SoftcappedAttention.Attend(q, k, v, mask, past, 1 / Math.Sqrt(scalar), _config.AttentionSoftcap)
            : past > 0 ? CachedAttention.Attend(q, k, v, past)
            : mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
            : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        var merged = attended.transpose(1, 2).reshape(b, t, heads * d);
        return OProj.forward(merged).MoveToOuterDisposeScope();
    }

    (Tensor Q, Tensor K, Tensor V) Project(Tensor x)
    {
        if (QkvProj is null) return (QProj!.forward(x), KProj!.forward(x), VProj!.forward(x));
        long q = _config.NumHeads * _config.HeadDim, kv = _config.NumKeyValueHeads * _config.HeadDim;
        var qkv = QkvProj.forward(x);
        return (qkv.narrow(-1, 0, q), qkv.narrow(-1, q, kv), qkv.narrow(-1, q + kv, kv));
    }
}
