namespace Ckpt.Models;

/// <summary>
/// The gradient handles that custom autograd functions' backwards (<see cref="ActivationCheckpoint"/>, the NF4 matmul)
/// hand to LibTorch. The engine copies one only after its backward has returned, so that backward cannot dispose it,
/// and on CUDA backward runs on the engine's device thread, where no dispose scope is open to do it later. Each is
/// kept here and disposed when the next backward on the same thread begins (by then the engine has copied it), so a
/// thread holds the few its last backward returned rather than every one of every step until the garbage collector.
/// </summary>
static class ReturnedGradients
{
    [ThreadStatic] static List<Tensor>? _kept;

    /// <summary>Disposes what earlier backwards on this thread returned: the first thing every backward does.</summary>
    public static void Release()
    {
        if (_kept is null) return;
        foreach (var t in _kept) t.Dispose();
        _kept.Clear();
    }

    /// <summary><paramref name="gradient"/>, kept for the next <see cref="Release"/> on this thread.</summary>
    public static Tensor? Keep(Tensor? gradient)
    {
        if (gradient is not null) (_kept ??= []).Add(gradient.DetachFromDisposeScope());
        return gradient;
    }
}
