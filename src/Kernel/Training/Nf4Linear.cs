using Ckpt.Models;
using TorchSharp.Modules;

namespace Ckpt.Training;

/// <summary>
/// The base product of a QLoRA layer: y = x·Wᵀ (+ b) with W dequantized from NF4 on the fly, in x's dtype.
/// Backward dequantizes again (bnb MatMul4Bit), so only the packed weight lives between forward and backward,
/// not a dequantized copy per layer; the weight itself gets no gradient.
/// </summary>
public sealed class Nf4Linear : NamedModule
{
    public Nf4Tensor Weight { get; }
    public Parameter? Bias { get; }

    public Nf4Linear(Nf4Tensor weight, Parameter? bias) : base("nf4_linear")
    {
        Weight = weight;
        Bias = bias;
    }

    /// <summary>Where backward records an exception (see <see cref="BackwardFailure"/>); null lets it end the process.</summary>
    public BackwardFailure? Failure { get; init; }

    public override Tensor forward(Tensor x)
    {
        // A caller that did not look after its backward learns of a failed one here, not from wrong adapters.
        Failure?.ThrowIfAny();
        var y = Nf4MatMul.apply(x, Weight, Failure);
        if (Bias is null) return y;
        using (y) return y.Plus(Bias);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Weight.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>x·dequant(W)ᵀ as an autograd function that saves the NF4 weight, not the dequantized one.</summary>
sealed class Nf4MatMul : autograd.SingleTensorFunction<Nf4MatMul>
{
    public override string Name => "Nf4MatMul";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var weight = (Nf4Tensor)vars[1];
        ctx.save_data("weight", weight);
        ctx.save_data("failure", vars[2]);
        // An undefined output gradient (after a failure downstream) reaches backward as it is: TorchSharp would otherwise
        // make zeros shaped like a copy of the output that the layer's dispose scope has already freed.
        ctx.set_materialize_grads(false);
        using var w = weight.Dequantize(x.dtype);
        return nn.functional.linear(x, w);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        try
        {
            ReturnedGradients.Release();
            if (gradOutput.IsInvalid) return [null!, null!, null!];
            var weight = (Nf4Tensor)ctx.get_data("weight");
            using var w = weight.Dequantize(gradOutput.dtype);
            // One gradient per input of apply: x gets one, the NF4 weight and the failure sink (not tensors) get none.
            return [ReturnedGradients.Keep(gradOutput.matmul(w))!, null!, null!];
        }
        catch (Exception e) when (ctx.get_data("failure") is BackwardFailure failure)
        {
            failure.Record(e);
            return [null!, null!, null!];
        }
        finally
        {
            gradOutput.Dispose();
        }
    }
}
