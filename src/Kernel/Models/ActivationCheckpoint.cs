namespace Ckpt.Models;

/// <summary>
/// The random state a checkpointed layer's dropout draws from, captured before its forward and restored before the
/// backward pass recomputes it, so the recomputed masks are the ones the forward used (what torch.utils.checkpoint's
/// preserve_rng_state does).
/// </summary>
public interface IRandomStateKeeper
{
    /// <summary>
    /// Marks the state the next draws come from; <see cref="Restore"/> with the result replays them. The result is
    /// plain data that owns no native handle: backward may run on another thread, or never.
    /// </summary>
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
/// <remarks>
/// backward disposes every handle it makes, since on CUDA it runs on the engine's device thread, where no dispose
/// scope is open (on the CPU, on the thread that called loss.backward()); the gradient it returns goes to
/// <see cref="ReturnedGradients"/>.
/// </remarks>
public sealed class ActivationCheckpoint : autograd.SingleTensorFunction<ActivationCheckpoint>
{
    public override string Name => "ActivationCheckpoint";

    /// <summary>
    /// <paramref name="layer"/> applied to <paramref name="x"/> and <paramref name="constants"/> (RoPE tables, masks:
    /// tensors without gradients), its activations recomputed in backward. The layer is handed the constants each time
    /// rather than capturing them, because the caller's dispose scope frees its own handles long before backward runs.
    /// An exception in the recompute goes to <paramref name="failure"/> (see <see cref="BackwardFailure"/>).
    /// </summary>
    public static Tensor Run(Func<Tensor, IReadOnlyList<Tensor>, Tensor> layer, Tensor x, IReadOnlyList<Tensor> constants,
        IRandomStateKeeper? random, BackwardFailure failure)
    {
        // apply also leaves the forward's own output handle and an uninitialised tensor shaped as the output (for
        // gradients it would materialise, which forward turns off): freed here rather than with the model's forward.
        using var scope = NewDisposeScope();
        return apply(x, layer, new Replay(random, null, failure), constants.ToArray()).MoveToOuterDisposeScope();
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var layer = (Func<Tensor, IReadOnlyList<Tensor>, Tensor>)vars[1];
        var replay = (Replay)vars[2];
        var constants = (Tensor[])vars[3];
        ctx.save_for_backward([x, .. constants]);
        ctx.save_data("layer", layer);
        ctx.save_data("random", replay with { State = replay.Keeper?.Capture() });
        // An undefined output gradient reaches backward as it is: TorchSharp would otherwise make zeros shaped like
        // a copy of the output that the caller's dispose scope has already freed (after an earlier layer failed).
        ctx.set_materialize_grads(false);
        using var noGrad = no_grad();
        return layer(x, constants);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var (random, before, failure) = (Replay)ctx.get_data("random");
        try
        {
            ReturnedGradients.Release();
            if (gradOutput.IsInvalid) return [null!, null!, null!, null!];
            // One gradient per input of apply: the hidden state gets one; the layer, the random state and the
            // constants (none of which needs one) get none.
            return [ReturnedGradients.Keep(Recompute(ctx, gradOutput, random, before))!, null!, null!, null!];
        }
        catch (Exception e)
        {
            failure.Record(e);
            return [null!, null!, null!, null!];
        }
        finally
        {
            gradOutput.Dispose();
        }
    }

    /// <summary>The layer run again from its saved input with gradients on, back-propagated: the input's gradient.</summary>
    static Tensor? Recompute(autograd.AutogradContext ctx, Tensor gradOutput, IRandomStateKeeper? random, object? before)
    {
        var layer = (Func<Tensor, IReadOnlyList<Tensor>, Tensor>)ctx.get_data("layer");
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
            }
            return x.grad;
        }
        finally
        {
            foreach (var t in saved) t.Dispose();
        }
    }

    sealed record Replay(IRandomStateKeeper? Keeper, object? State, BackwardFailure Failure);
}
