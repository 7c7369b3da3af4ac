namespace Ckpt.Models;

/// <summary>
/// RoPE in HF's half-split convention: inv_freq[j] = θ^(−2j/d) (rescaled by <see cref="RopeScaling"/>); angles = position × inv_freq in fp32;
/// emb = [angles, angles]; q' = q·cos + rotate_half(q)·sin with rotate_half(x) = [−x₂, x₁].
/// (Meta's original checkpoints rotate adjacent pairs; HF's converter permutes q/k rows to match this.)
/// </summary>
static class RotaryEmbedding
{
    /// <summary>cos and sin [seq, rotaryDim], in <paramref name="dtype"/>.</summary>
    public static (Tensor Cos, Tensor Sin) Table(long seq, LlamaConfig config, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var positions = KeptScalars.Arange(seq, ScalarType.Int64, device);
        var (cos, sin) = Angles(positions, seq, config, dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>cos and sin [batch, 1, seq, rotaryDim] for per-row positions [batch, seq] (packed rows restart them per example).</summary>
    public static (Tensor Cos, Tensor Sin) Table(Tensor positionIds, LlamaConfig config, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        // Only dynamic NTK depends on the length, and reading the largest position back costs a device sync.
        long longest = config.RopeScaling.Type == "dynamic" && positionIds.numel() > 0 ? positionIds.max().item<long>() + 1 : 0;
        var (cos, sin) = Angles(positionIds, longest, config, dtype);
        return (cos.unsqueeze(1).MoveToOuterDisposeScope(), sin.unsqueeze(1).MoveToOuterDisposeScope());
    }

    static (Tensor Cos, Tensor Sin) Angles(Tensor positionIds, long longest, LlamaConfig config, ScalarType dtype)
    {
        var invFreq = config.RopeScaling.InverseFrequencies(config.RotaryDim, config.RopeTheta, config.MaxPositionEmbeddings, longest, positionIds.device);
        var angles = positionIds.to(ScalarType.Float32).unsqueeze(-1).mul(invFreq);
        var emb = cat([angles, angles], -1);
        return (emb.cos().to(dtype), emb.sin().to(dtype));
    }

    /// <summary>
    /// Rotates x [batch, heads, seq, headDim]; with partial rotary (Phi-3's partial_rotary_factor) only the first
    /// cos.shape[-1] features of each head turn and the rest pass through.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long rotary = cos.shape[^1];
        if (rotary < x.shape[^1])
            return cat([Apply(x.narrow(-1, 0, rotary), cos, sin), x.narrow(-1, rotary, x.shape[^1] - rotary)], -1).MoveToOuterDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([x2.neg(), x1], -1);
        return x.mul(cos).Plus(rotated.mul(sin)).MoveToOuterDisposeScope();
    }
}
