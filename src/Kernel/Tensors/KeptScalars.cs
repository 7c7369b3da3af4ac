using Ckpt.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Ckpt.Tensors;

/// <summary>
/// Tensor arithmetic with numbers, and tensor + tensor, through Scalars that stay referenced until LibTorch has used
/// them. TorchSharp 0.107 turns a number into a <see cref="Scalar"/> whose only reference is the call's argument, and
/// <c>Tensor.add(Tensor)</c> makes its own alpha = 1 that way. Once the call has read the native handle nothing refers
/// to the Scalar, so a garbage collection started by another thread may finalize it, freeing it while LibTorch still
/// reads it. With other threads allocating (the test suite's parallel classes, a notebook's kernel), that surfaced as an
/// intermittent LibTorch error inside <c>add</c> during training. Constants here are static fields; values are
/// disposed after the call, which keeps them alive through it.
/// </summary>
internal static class KeptScalars
{
    static readonly Scalar One = 1;

    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    public static Tensor PlusInPlace(this Tensor a, Tensor b, double alpha)
    {
        using Scalar s = alpha;
        return a.add_(b, s);
    }

    public static Tensor Plus(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.add(s, One);
    }

    public static Tensor PlusInPlace(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.add_(s, One);
    }

    public static Tensor Minus(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.sub(s);
    }

    public static Tensor Times(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.mul(s);
    }

    public static Tensor TimesInPlace(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.mul_(s);
    }

    public static Tensor Over(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.div(s);
    }

    public static Tensor OverInPlace(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.div_(s);
    }

    public static Tensor Power(this Tensor a, double exponent)
    {
        using Scalar s = exponent;
        return a.pow(s);
    }

    /// <summary>a += value · t1 / t2, in place.</summary>
    public static Tensor PlusQuotientInPlace(this Tensor a, Tensor t1, Tensor t2, double value)
    {
        using Scalar s = value;
        return a.addcdiv_(t1, t2, s);
    }

    /// <summary>a += value · t1 · t2, in place.</summary>
    public static Tensor PlusProductInPlace(this Tensor a, Tensor t1, Tensor t2, double value)
    {
        using Scalar s = value;
        return a.addcmul_(t1, t2, s);
    }

    public static Tensor FillInPlace(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.fill_(s);
    }

    public static Tensor FilledWhere(this Tensor a, Tensor mask, double value)
    {
        using Scalar s = value;
        return a.masked_fill(mask, s);
    }

    public static Tensor AtLeast(this Tensor a, double min)
    {
        using Scalar s = min;
        return a.clamp_min(s);
    }

    public static Tensor Within(this Tensor a, double min, double max)
    {
        using Scalar lo = min;
        using Scalar hi = max;
        return a.clamp(lo, hi);
    }

    public static Tensor EqualTo(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.eq(s);
    }

    public static Tensor NotEqualTo(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.ne(s);
    }

    public static Tensor AtLeastAsLargeAs(this Tensor a, double value)
    {
        using Scalar s = value;
        return a.ge(s);
    }
    public static Tensor FilledWhere(this Tensor a, Tensor mask, long value)
    {
        using Scalar s = value;
        return a.masked_fill(mask, s);
    }

    public static Tensor AtLeast(this Tensor a, long min)
    {
        using Scalar s = min;
        return a.clamp_min(s);
    }

    public static Tensor EqualTo(this Tensor a, long value)
    {
        using Scalar s = value;
        return a.eq(s);
    }

    public static Tensor NotEqualTo(this Tensor a, long value)
    {
        using Scalar s = value;
        return a.ne(s);
    }

    public static Tensor AtLeastAsLargeAs(this Tensor a, long value)
    {
        using Scalar s = value;
        return a.ge(s);
    }
}
