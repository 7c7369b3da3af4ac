namespace Ckpt.Merging;

/// <summary>Where merged tensors go, one whole tensor at a time, in the order they are produced.</summary>
public interface ITensorSink
{
    void Write(TensorData tensor);
    /// <summary>Called once after the last tensor; a file sink finishes its index here.</summary>
    void Complete(IReadOnlyDictionary<string, string> metadata);
}
