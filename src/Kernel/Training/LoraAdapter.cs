using Ckpt.Models;
using TorchSharp.Modules;

namespace Ckpt.Training;

/// <summary>
/// PEFT's LoRA branch on one linear layer: Δy = B(A(dropout(x))) · scaling, A [r, in], B [out, r].
/// The input is cast to A's dtype and the result back by <see cref="Projection"/>, as PEFT does.
/// </summary>
public sealed class LoraAdapter : NamedModule
{
    readonly double _dropout;
    public WeightMatrix A { get; }
    public WeightMatrix B { get; }
    public double Scaling { get; }
    /// <summary>
    /// Draws dropout's masks on the CPU when set (a run's own generator, so runs in one process do not share one
    /// stream); otherwise, and on CUDA, dropout uses torch's default generator of the device.
    /// </summary>
    public Generator? DropoutGenerator { get; set; }

    public LoraAdapter(long inFeatures, long outFeatures, int r, double scaling, double dropout, ScalarType dtype, Device device)
        : base("lora")
    {
        A = new WeightMatrix(r, inFeatures, dtype, device);
        B = new WeightMatrix(outFeatures, r, dtype, device);
        Scaling = scaling;
        _dropout = dropout;
    }

    /// <summary>PEFT's default init: A ~ kaiming_uniform(a=√5) = U(±1/√in), B = 0, so the adapter starts as a no-op.</summary>
    public void ResetParameters(Generator? generator = null)
    {
        using var noGrad = no_grad();
        double bound = 1.0 / Math.Sqrt(A.Weight.shape[1]);
        // Drawn on the CPU and copied over: the generator is a CPU one (TorchSharp creates only CPU generators), and a
        // seed then gives the same adapter on every device.
        using var u = rand(A.Weight.shape, ScalarType.Float32, CPU, generator: generator);
        using var scaled = u.Times(2 * bound).Minus(bound);
        A.Weight.copy_(scaled);
        B.Weight.zero_();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var input = x.dtype == A.Weight.dtype ? x : x.to(A.Weight.dtype);
        if (_dropout > 0 && training)
            input = DropoutGenerator is { } generator && input.device_type == DeviceType.CPU
                // torch's dropout: keep each element with probability 1 − p, scaled by 1 / (1 − p).
                ? input.mul(rand(input.shape, ScalarType.Float32, CPU, generator: generator).AtLeastAsLargeAs(_dropout).to(input.dtype)).Over(1 - _dropout)
                : nn.functional.dropout(input, _dropout, training: true);
        var delta = nn.functional.linear(nn.functional.linear(input, A.Weight), B.Weight).Times(Scaling);
        return delta.MoveToOuterDisposeScope();
    }

    /// <summary>scaling · B @ A, in the orientation of the base weight ([out, in], or [in, out] for Conv1D).</summary>
    public Tensor Delta(bool fanInFanOut)
    {
        using var scope = NewDisposeScope();
        var delta = B.Weight.matmul(A.Weight).Times(Scaling);
        return (fanInFanOut ? delta.t().contiguous() : delta).MoveToOuterDisposeScope();
    }
}
