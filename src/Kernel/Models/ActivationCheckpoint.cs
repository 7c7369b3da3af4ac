using TorchSharp;
using static TorchSharp.torch;

namespace Ckpt.Models;

/// <summary>
/// The random state a checkpointed layer's dropout draws from, captured before its forward and restored before the
/// backward pass recomputes it, so the recomputed masks are the ones the forward used (what torch.utils.checkpoint's
/// preserve_rng_state does).
/// </summary>
public interface IRandomStateKeeper
{
    /// <summary>Marks the state the next draws come from; <see cref="Restore"/> with the result replays them.</summary>
    object Capture();
    void Restore(object state);
}

/// <summary>
/// Gradient (activation) checkpointing of one decoder layer, as torch.utils.checkpoint's reentrant variant: the
/// forward runs without building a graph and keeps only the layer's input; backward runs the layer again with
/// gradients on and back-propagates through that copy, which accumulates the adapters' gradients and returns the
/// input's. Activation memory of the stack drops from every layer's intermediates to one hidden state per layer,
/// for one more forward per layer (HF's gradient_checkpointing_enable).
/// </summary>
public sealed class ActivationCheckpoint : autograd.SingleTensorFunction<ActivationCheckpoint>
{
    public override string Name => "ActivationCheckpoint";

    /// <summary>
    /// <paramref name="layer"/> applied to <paramref name="x"/> and <paramref name="constants"/> (RoPE tables, masks:
    /// tensors without gradients), its activations recomputed in backward. The layer is handed the constants each time
    /// rather than capturing them, because the caller's dispose scope frees its own handles long before backward runs.
    /// </summary>
    public static Tensor Run(Func<Tensor, IReadOnlyList<Tensor>, Tensor> layer, Tensor x, IReadOnlyList<Tensor> constants,
        IRandomStateKeeper? random) => apply(x, layer, new Replay(random, null), constants.ToArray());

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var layer = (Func<Tensor, IReadOnlyList<Tensor>, Tensor>)vars[1];
        var random = ((Replay)vars[2]).Keeper;
        var constants = (Tensor[])vars[3];
        ctx.save_for_backward([x, .. constants]);
        ctx.save_data("layer", layer);
        ctx.save_data("random", new Replay(random, random?.Capture()));
        using var noGrad = no_grad();
        return layer(x, constants);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var layer = (Func<Tensor, IReadOnlyList<Tensor>, Tensor>)ctx.get_data("layer");
        var (random, before) = (Replay)ctx.get_data("random");
        var saved = ctx.get_saved_variables();
        try
        {
            using var x = saved[0].detach().requires_grad_(true);
            object? now = random?.Capture();
            if (random is not null) random.Restore(before!);
            try
            {
                using var enabled = enable_grad();
                using var y = layer(x, saved.Skip(1).ToList());
                y.backward([gradOutput]);
            }
            finally
            {
                if (random is not null) random.Restore(now!);
                (now as IDisposable)?.Dispose();
                (before as IDisposable)?.Dispose();
            }
            // One gradient per input of apply: the hidden state gets one; the layer, the random state and the
            // constants (none of which needs one) get none.
            return [x.grad!, null!, null!, null!];
        }
        finally
        {
            foreach (var t in saved) t.Dispose();
        }
    }

    sealed record Replay(IRandomStateKeeper? Keeper, object? State);
}
