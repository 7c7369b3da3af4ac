using System.Runtime.ExceptionServices;

namespace Ckpt.Models;

/// <summary>
/// The first exception that a backward of one of the model's own autograd functions (<see cref="ActivationCheckpoint"/>,
/// the NF4 matmul) met. LibTorch's autograd engine calls those backwards from native code, through which the CLR
/// cannot unwind an exception (it ends the process), so each records it and returns no gradient, the engine finishes,
/// and the caller rethrows it once loss.backward() has returned (<see cref="CausalLanguageModel.ThrowIfBackwardFailed"/>).
/// </summary>
public sealed class BackwardFailure
{
    Exception? _first;

    internal void Record(Exception e) => Interlocked.CompareExchange(ref _first, e, null);

    /// <summary>Rethrows the recorded exception, as it was thrown, and forgets it.</summary>
    public void ThrowIfAny()
    {
        if (Interlocked.Exchange(ref _first, null) is { } e) ExceptionDispatchInfo.Capture(e).Throw();
    }
}
