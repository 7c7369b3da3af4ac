using Ckpt.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ckpt.Models;

/// <summary>LLaMA's RMSNorm: normalise in fp32, cast back to the input dtype, then scale (HF order, which matters in bf16).</summary>
public sealed class RmsNorm : NamedModule
{
    readonly double _eps;
    public Parameter Weight { get; }

    public RmsNorm(string name, long size, double eps, ScalarType dtype, Device device) : base(name)
    {
        _eps = eps;
        Weight = new Parameter(ones(size, dtype, device), requires_grad: false);
        register_parameter("weight", Weight);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var variance = x32.Power(2).mean([-1], keepdim: true);
        var normed = x32.mul(variance.Plus(_eps).rsqrt()).to(x.dtype);
        return Weight.mul(normed).MoveToOuterDisposeScope();
    }
}
