namespace Ckpt.Models;

/// <summary>
/// Attention of the newest queries over cached and new keys. SDPA's is_causal aligns its mask to the top-left corner,
/// which is wrong once keys outnumber queries, so query i (at position past + i) is given keys 0 … past + i explicitly;
/// a single query sees every key and needs no mask.
/// </summary>
static class CachedAttention
{
    /// <param name="q">[batch, heads, new, headDim]</param>
    /// <param name="k">[batch, heads, past + new, headDim], as <paramref name="v"/></param>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, long past)
    {
        long t = q.shape[2];
        if (t == 1) return nn.functional.scaled_dot_product_attention(q, k, v);
        using var mask = ones(t, past + t, ScalarType.Bool, q.device).tril(past);
        return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
    }
}
