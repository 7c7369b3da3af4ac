using Ckpt.Tensors;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Tensors;

[CollectionDefinition(nameof(CollectedAlone), DisableParallelization = true)]
public sealed class CollectedAlone;

/// <summary>
/// TorchSharp 0.107 lets the GC finalize the Scalar a tensor op was given (or made itself, as add's alpha = 1) while
/// LibTorch still reads it. Here one thread collects and runs finalizers in a loop while another adds tensors. On the
/// build machine, TorchSharp's own <c>a.add(b)</c> failed with a LibTorch error 1 time in 272,007 calls (10 s) and 16 times
/// in 1,000,109 (30 s); <see cref="KeptScalars"/>' <c>Plus</c> failed 0 times in 322,768 and 1,013,675 calls under the
/// same load. The race is narrow (a collection must land between TorchSharp reading the handle and LibTorch reading
/// the value), so these tests catch a regression only with some probability: 200,000 raw adds also passed once. The
/// class runs alone: collecting in a loop would expose the other classes' raw TorchSharp calls to the same race.
/// </summary>
[Collection(nameof(CollectedAlone))]
public sealed class KeptScalarsTests(ITestOutputHelper output)
{
    /// <summary>Calls <paramref name="op"/> while another thread collects garbage and runs finalizers without pause.</summary>
    static (int Wrong, int Errors) Hammer(Func<Tensor, Tensor, Tensor> op, float expected, int calls)
    {
        using var x = ones(8);
        using var y = ones(8);
        bool stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        int wrong = 0, errors = 0;
        try
        {
            for (int i = 0; i < calls; i++)
            {
                try
                {
                    using var z = op(x, y);
                    if (z[0].item<float>() != expected) wrong++;
                }
                catch (System.Runtime.InteropServices.ExternalException) { errors++; }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
        return (wrong, errors);
    }

    /// <summary>
    /// The fast guard of the helper most code uses: 40,000 calls took 10 s on the 2-core shared VM under load. It
    /// checks the helper, not the odds: TorchSharp's own <c>a * 3.0</c> also passed 600,000 calls there (0 failures).
    /// </summary>
    [Fact]
    public void Scaling_by_a_number_while_another_thread_collects_and_finalizes_never_fails_or_miscomputes()
    {
        var (wrong, errors) = Hammer((a, _) => a.Times(3.0), 3f, 40_000);
        output.WriteLine($"Times: {errors} errors, {wrong} wrong results in 40,000 calls");
        Assert.Equal((0, 0), (wrong, errors));
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Adding_tensors_while_another_thread_collects_and_finalizes_never_fails_or_miscomputes()
    {
        var (wrong, errors) = Hammer((a, b) => a.Plus(b), 2f, 200_000);
        output.WriteLine($"Plus: {errors} errors, {wrong} wrong results in 200,000 calls");
        Assert.Equal((0, 0), (wrong, errors));
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Scalar_arithmetic_while_another_thread_collects_and_finalizes_never_fails_or_miscomputes()
    {
        var (wrong, errors) = Hammer((a, _) => a.Times(3.0).Plus(0.5).Minus(1.0).Over(2.0), 1.25f, 50_000);
        output.WriteLine($"Times/Plus/Minus/Over: {errors} errors, {wrong} wrong results in 50,000 chains");
        Assert.Equal((0, 0), (wrong, errors));
    }
}
