namespace Ckpt.Resharding;

/// <summary>The local tensors of one target rank, by fully-qualified name, and what reading them cost.</summary>
public sealed class RankTensors : IDisposable
{
    readonly Dictionary<string, TensorData> _tensors;

    internal RankTensors(RankPlan plan, Dictionary<string, TensorData> tensors, long bytesRead, Monitoring.OperationTimeline timeline)
    {
        Plan = plan;
        _tensors = tensors;
        BytesRead = bytesRead;
        Timeline = timeline;
    }

    public RankPlan Plan { get; }
    public int Rank => Plan.Rank;
    /// <summary>Tensor bytes actually read from storage (from the storage counters).</summary>
    public long BytesRead { get; }
    public long BytesNeeded => Plan.BytesNeeded;
    public Monitoring.OperationTimeline Timeline { get; }

    public IReadOnlyDictionary<string, TensorData> Tensors => _tensors;
    public TensorData this[string name] => _tensors[name];

    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
    }
}
