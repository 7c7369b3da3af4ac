using Ckpt.Monitoring;
using Ckpt.Planning;

namespace Ckpt.Resharding;

/// <summary>
/// A reshard's chunk reads, read ahead on an object store: each writer rank loads its chunks one at a time in the order
/// they were added (DcpWriter writes a rank's chunks in state-dict order), so each rank gets one <see cref="ReadAhead"/>
/// over its chunks' plans, started at its first load. The ranks written at once share the storage's budget of bytes
/// fetched and not yet used. A chunk the writer passes over (one not listed in the metadata) is skipped.
/// </summary>
internal sealed class ChunkReadAhead(ICheckpointStorage storage, int concurrentWriters, OperationTimeline? timeline, CancellationToken ct) : IDisposable
{
    readonly Dictionary<int, List<ReadPlan>> _plans = [];
    readonly Dictionary<int, ReadAhead> _started = [];

    /// <summary>Each rank's fraction of the budget; its reads are planned no longer than that (<see cref="ReadTuning.ForShare"/>).</summary>
    double Share => 1.0 / Math.Max(1, concurrentWriters);

    /// <summary>Whether the storage reads ahead (object stores); local disks keep one plain read per chunk.</summary>
    public static bool Applies(ICheckpointStorage storage) => storage.Tuning.ReadAheadRequests > 0;

    /// <summary>Appends box <paramref name="box"/> of <paramref name="tensor"/> to <paramref name="writer"/>'s chunks; returns its loader.</summary>
    public Func<TensorData> Add(int writer, TensorEntry tensor, Box box)
    {
        var plan = ReadPlanner.Plan(tensor, box, tuning: storage.Tuning.ForShare(Share));
        if (!_plans.TryGetValue(writer, out var plans)) _plans[writer] = plans = [];
        int index = plans.Count;
        plans.Add(plan);
        return () =>
        {
            ReadAhead? ahead;
            lock (_started)
                if (!_started.TryGetValue(writer, out ahead))
                    _started[writer] = ahead = new ReadAhead(storage, plans, timeline, ct, Share);
            var data = new TensorData(tensor.Name, tensor.DType, box.Lengths);
            try
            {
                ahead.Fill(index, data);
                return data;
            }
            catch
            {
                data.Dispose();
                throw;
            }
        };
    }

    public void Dispose()
    {
        lock (_started)
            foreach (var ahead in _started.Values) ahead.Dispose();
    }
}
