using TorchSharp.Modules;

namespace Ckpt.Models;

/// <summary>
/// LLaMA's RMSNorm: normalise in fp32, cast back to the input dtype, then scale (HF order, which matters in bf16).
/// Gemma's (<c>unitOffset</c>) scales by (1 + w) in fp32 and casts last (Gemma2RMSNorm: "llama does x.to(float16) * w
/// whilst Gemma is (x * w).to(float16)").
/// </summary>
public sealed class RmsNorm : NamedModule
{
    readonly double _eps;
    readonly bool _unitOffset;
    public Parameter Weight { get; }

    public RmsNorm(string name, long size, double eps, ScalarType dtype, Device device, bool unitOffset = false) : base(name)
    {
        _eps = eps;
        _unitOffset = unitOffset;
        Weight = new Parameter(ones(size, dtype, device), requires_grad: false);
        register_parameter("weight", Weight);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var variance = x32.Power(2).mean([-1], keepdim: true);
        var normed32 = x32.mul(variance.Plus(_eps).rsqrt());
        if (_unitOffset) return normed32.mul(Weight.to(ScalarType.Float32).Plus(1.0)).to(x.dtype).MoveToOuterDisposeScope();
        var normed = normed32.to(x.dtype);
        return Weight.mul(normed).MoveToOuterDisposeScope();
    }
}
