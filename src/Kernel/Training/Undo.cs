namespace Ckpt.Training;

/// <summary>Runs an action once when disposed: a temporary change to a model (adapters off, eval mode) put back.</summary>
internal sealed class Undo(Action undo) : IDisposable
{
    Action? _undo = undo;
    public void Dispose() { _undo?.Invoke(); _undo = null; }
}
