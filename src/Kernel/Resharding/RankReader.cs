using Ckpt.Monitoring;
using Ckpt.Planning;

namespace Ckpt.Resharding;

/// <summary>
/// Executes a <see cref="RankPlan"/>: each tensor shard is read straight from the saved fragments, one tensor at a
/// time; where the storage reads ahead (object stores) the next tensors' GETs are in flight meanwhile.
/// </summary>
public static class RankReader
{
    public static RankTensors Read(ICheckpointStorage storage, RankPlan plan, int parallelism = 0,
        OperationTimeline? timeline = null, CancellationToken cancellationToken = default)
    {
        timeline ??= new OperationTimeline($"read rank {plan.Rank}");
        parallelism = parallelism > 0 ? parallelism : Environment.ProcessorCount * 2;
        long before = storage.Statistics.TensorBytesRead;
        var result = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        using var ahead = storage.Tuning.ReadAheadRequests > 0
            ? new ReadAhead(storage, plan.Tensors.SelectMany(t => t.Reads).ToArray(), timeline, cancellationToken) : null;
        int next = 0;
        try
        {
            foreach (var t in plan.Tensors)
            {
                cancellationToken.ThrowIfCancellationRequested();
                result[t.Tensor.Name] = ahead is null
                    ? ReadShard(storage, t, parallelism, timeline, cancellationToken)
                    : Fill(t, (read, into) => ahead.Fill(next++, into));
            }
        }
        catch
        {
            foreach (var d in result.Values) d.Dispose();
            throw;
        }
        return new RankTensors(plan, result, storage.Statistics.TensorBytesRead - before, timeline);
    }

    /// <summary>Fills one rank-local tensor: a single box lands in place; several boxes are read and appended in order.</summary>
    public static TensorData ReadShard(ICheckpointStorage storage, TensorShardPlan t, int parallelism,
        OperationTimeline? timeline, CancellationToken ct) =>
        Fill(t, (read, into) => TensorReader.Execute(storage, read, into, parallelism, timeline, ct));

    /// <summary>The shard's tensor, each of its read plans (in order) filled by <paramref name="execute"/>.</summary>
    static TensorData Fill(TensorShardPlan t, Action<ReadPlan, TensorData> execute)
    {
        var data = new TensorData(t.Tensor.Name, t.Tensor.DType, t.Shard.LocalShape);
        try
        {
            if (t.Reads.Count == 1 && t.Shard.PaddingElements == 0 && t.Reads[0].Target.ElementCount == data.ElementCount)
            {
                execute(t.Reads[0], data);
                return data;
            }
            long offset = 0;
            foreach (var plan in t.Reads)
            {
                using var part = new TensorData(t.Tensor.Name, t.Tensor.DType, plan.Target.Lengths);
                execute(plan, part);
                Copy(part, data, offset);
                offset += part.ByteLength;
            }
            Clear(data, offset);
            return data;
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    static void Copy(TensorData from, TensorData to, long at)
    {
        for (long o = 0; o < from.ByteLength; o += 1 << 30)
        {
            int n = (int)Math.Min(1 << 30, from.ByteLength - o);
            from.Slice(o, n).CopyTo(to.Slice(at + o, n));
        }
    }

    static void Clear(TensorData data, long from)
    {
        for (long o = from; o < data.ByteLength; o += 1 << 30)
            data.Slice(o, (int)Math.Min(1 << 30, data.ByteLength - o)).Clear();
    }
}
