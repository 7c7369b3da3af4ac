using Ckpt.Tensors;
using static TorchSharp.torch;

namespace Ckpt.Models;

/// <summary>
/// RoPE in HF's half-split convention: inv_freq[j] = θ^(−2j/d); angles = position × inv_freq in fp32;
/// emb = [angles, angles]; q' = q·cos + rotate_half(q)·sin with rotate_half(x) = [−x₂, x₁].
/// (Meta's original checkpoints rotate adjacent pairs; HF's converter permutes q/k rows to match this.)
/// </summary>
static class RotaryEmbedding
{
    /// <summary>cos and sin [seq, headDim], in <paramref name="dtype"/>.</summary>
    public static (Tensor Cos, Tensor Sin) Table(long seq, long headDim, double theta, double linearFactor, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var positions = arange(seq, ScalarType.Int64, device);
        var (cos, sin) = Angles(positions, headDim, theta, linearFactor, dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>cos and sin [batch, 1, seq, headDim] for per-row positions [batch, seq] (packed rows restart them per example).</summary>
    public static (Tensor Cos, Tensor Sin) Table(Tensor positionIds, long headDim, double theta, double linearFactor, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var (cos, sin) = Angles(positionIds, headDim, theta, linearFactor, dtype);
        return (cos.unsqueeze(1).MoveToOuterDisposeScope(), sin.unsqueeze(1).MoveToOuterDisposeScope());
    }

    static (Tensor Cos, Tensor Sin) Angles(Tensor positionIds, long headDim, double theta, double linearFactor, ScalarType dtype)
    {
        var device = positionIds.device;
        var exponents = arange(0, headDim, 2, ScalarType.Int64, device).to(ScalarType.Float32).Over(headDim);
        var invFreq = pow(tensor((float)theta, ScalarType.Float32, device), exponents).reciprocal();
        var positions = positionIds.to(ScalarType.Float32);
        if (linearFactor != 1) positions = positions.Over(linearFactor);
        var angles = positions.unsqueeze(-1).mul(invFreq);
        var emb = cat([angles, angles], -1);
        return (emb.cos().to(dtype), emb.sin().to(dtype));
    }

    /// <summary>Rotates x [batch, heads, seq, headDim].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([x2.neg(), x1], -1);
        return x.mul(cos).Plus(rotated.mul(sin)).MoveToOuterDisposeScope();
    }
}
