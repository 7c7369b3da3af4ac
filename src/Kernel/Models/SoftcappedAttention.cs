namespace Ckpt.Models;

/// <summary>
/// Gemma 2's eager attention (modeling_gemma2.py eager_attention_forward): scores scaled by query_pre_attn_scalar^−½,
/// soft-capped as cap·tanh(scores/cap) before the mask, softmax in fp32. SDPA has no soft cap, so the scores are formed here.
/// </summary>
static class SoftcappedAttention
{
    /// <param name="q">[batch, heads, new, headDim]</param>
    /// <param name="k">[batch, heads, past + new, headDim], as <paramref name="v"/></param>
    /// <param name="mask">Bool, true where a query may see a key; null is causal over <paramref name="past"/> + new keys.</param>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? mask, long past, double scale, double? cap)
    {
        using var scope = NewDisposeScope();
        long t = q.shape[2];
        var scores = q.matmul(k.transpose(-1, -2)).Times(scale);
        if (cap is double c) scores = scores.Over(c).tanh().Times(c);
        var visible = mask ?? ones(t, past + t, ScalarType.Bool, q.device).tril(past);
        scores = scores.FilledWhere(visible.logical_not(), double.NegativeInfinity);
        var weights = scores.to(ScalarType.Float32).softmax(-1).to(q.dtype);
        return weights.matmul(v).MoveToOuterDisposeScope();
    }
}
