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
    static readonly Scalar MinusOne = -1;

    /// <summary>Runs <paramref name="op"/> on <paramref name="value"/> as a Scalar disposed only after the op returns.</summary>
    static Tensor With(Scalar value, Func<Scalar, Tensor> op)
    {
        using (value) return op(value);
    }

    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);
    public static Tensor PlusInPlace(this Tensor a, Tensor b, double alpha) => With(alpha, s => a.add_(b, s));
    public static Tensor Plus(this Tensor a, double value) => With(value, s => a.add(s, One));
    public static Tensor PlusInPlace(this Tensor a, double value) => With(value, s => a.add_(s, One));
    public static Tensor Minus(this Tensor a, double value) => With(value, a.sub);
    /// <summary>a − b, as LibTorch's sub does it (add with alpha −1).</summary>
    public static Tensor Minus(this Tensor a, Tensor b) => a.add(b, MinusOne);
    public static Tensor Times(this Tensor a, double value) => With(value, a.mul);
    public static Tensor TimesInPlace(this Tensor a, double value) => With(value, a.mul_);
    public static Tensor Over(this Tensor a, double value) => With(value, s => a.div(s));
    public static Tensor OverInPlace(this Tensor a, double value) => With(value, s => a.div_(s));
    public static Tensor Power(this Tensor a, double exponent) => With(exponent, a.pow);
    public static Tensor FillInPlace(this Tensor a, double value) => With(value, a.fill_);
    public static Tensor FillInPlace(this Tensor a, bool value) => With(value, a.fill_);

    /// <summary>a += value · t1 / t2, in place.</summary>
    public static Tensor PlusQuotientInPlace(this Tensor a, Tensor t1, Tensor t2, double value) => With(value, s => a.addcdiv_(t1, t2, s));

    /// <summary>a += value · t1 · t2, in place.</summary>
    public static Tensor PlusProductInPlace(this Tensor a, Tensor t1, Tensor t2, double value) => With(value, s => a.addcmul_(t1, t2, s));

    public static Tensor FilledWhere(this Tensor a, Tensor mask, double value) => With(value, s => a.masked_fill(mask, s));
    public static Tensor FilledWhere(this Tensor a, Tensor mask, long value) => With(value, s => a.masked_fill(mask, s));
    public static Tensor AtLeast(this Tensor a, double min) => With(min, a.clamp_min);
    public static Tensor AtLeast(this Tensor a, long min) => With(min, a.clamp_min);

    public static Tensor Within(this Tensor a, double min, double max)
    {
        using Scalar lo = min, hi = max;
        return a.clamp(lo, hi);
    }

    public static Tensor EqualTo(this Tensor a, double value) => With(value, a.eq);
    public static Tensor EqualTo(this Tensor a, long value) => With(value, a.eq);
    public static Tensor NotEqualTo(this Tensor a, double value) => With(value, a.ne);
    public static Tensor NotEqualTo(this Tensor a, long value) => With(value, a.ne);
    public static Tensor AtLeastAsLargeAs(this Tensor a, double value) => With(value, a.ge);
    public static Tensor AtLeastAsLargeAs(this Tensor a, long value) => With(value, a.ge);
    public static Tensor AtMostAsLargeAs(this Tensor a, double value) => With(value, a.le);
    public static Tensor GreaterThan(this Tensor a, double value) => With(value, a.gt);
    public static Tensor LessThan(this Tensor a, double value) => With(value, a.lt);

    /// <summary>torch.arange(start, stop, step): TorchSharp's shorter overloads make their own start and step Scalars.</summary>
    public static Tensor Arange(long start, long stop, long step, ScalarType dtype, Device? device)
    {
        using Scalar from = start, to = stop, by = step;
        return arange(from, to, by, dtype, device);
    }

    public static Tensor Arange(long start, long stop, ScalarType dtype, Device? device) => Arange(start, stop, 1, dtype, device);
    public static Tensor Arange(long stop, ScalarType dtype, Device? device) => Arange(0, stop, 1, dtype, device);
}
