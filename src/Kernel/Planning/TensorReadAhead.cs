using Ckpt.Monitoring;

namespace Ckpt.Planning;

/// <summary>
/// One checkpoint's tensor reads in the order a verb will make them (convert's writer, merge's chunks of each input,
/// diff's pairs), read ahead through one <see cref="ReadAhead"/> on storages that read ahead (object stores), started at
/// the first read. Each read is matched to the next expected read of the same tensor and box at or after the last one
/// filled; a read the sequence does not expect there (a caller that pulls in another order) is read plainly, as without
/// read-ahead, so a wrong order costs GETs, never bytes or correctness. Local disks get no instance (<see cref="For"/>):
/// they keep one plain read per tensor. One caller reads at a time (the verbs read tensor at a time).
/// </summary>
internal sealed class TensorReadAhead : IDisposable
{
    readonly ICheckpointStorage _storage;
    readonly OperationTimeline? _timeline;
    readonly CancellationToken _ct;
    readonly double _share;
    readonly ReadAheadMeter? _meter;
    readonly List<ReadPlan> _plans = [];
    readonly Dictionary<string, Queue<int>> _positions = new(StringComparer.Ordinal);
    readonly object _lock = new();
    ReadAhead? _ahead;
    int _cursor;
    bool _disposed;

    TensorReadAhead(ICheckpointStorage storage, OperationTimeline? timeline, CancellationToken ct, double share, ReadAheadMeter? meter)
    {
        _storage = storage;
        _timeline = timeline;
        _ct = ct;
        _share = share;
        _meter = meter;
    }

    /// <summary>Whether the storage reads ahead (object stores: <see cref="ReadTuning.ReadAheadRequests"/> &gt; 0).</summary>
    public static bool Applies(ICheckpointStorage storage) => storage.Tuning.ReadAheadRequests > 0;

    /// <summary>A read-ahead for <paramref name="storage"/>, or null where it does not read ahead (local disks).</summary>
    /// <param name="share">This reader's fraction of the budget, where several read ahead at once (see <see cref="ReadAhead"/>).</param>
    public static TensorReadAhead? For(ICheckpointStorage storage, OperationTimeline? timeline, CancellationToken ct, double share = 1,
        ReadAheadMeter? meter = null) =>
        Applies(storage) ? new TensorReadAhead(storage, timeline, ct, share, meter) : null;

    /// <summary>Appends reads to the expected sequence (before the first <see cref="Read"/>).</summary>
    public void Expect(TensorEntry tensor, Box? box = null)
    {
        lock (_lock)
        {
            if (_ahead is not null) throw new InvalidOperationException("reads are expected before the first one is made");
            var key = Key(tensor.Name, box);
            if (!_positions.TryGetValue(key, out var queue)) _positions[key] = queue = new Queue<int>();
            queue.Enqueue(_plans.Count);
            _plans.Add(ReadPlanner.Plan(tensor, box, tuning: _storage.Tuning.ForShare(_share)));
        }
    }

    /// <summary>Reads expected in sequence and filled from the read-ahead.</summary>
    public int ReadsAhead { get; private set; }
    /// <summary>Reads not expected where they came (read plainly).</summary>
    public int PlainReads { get; private set; }
    /// <summary>The read-ahead's GETs (after coalescing), 0 before the first read.</summary>
    public int FetchCount { get { lock (_lock) return _ahead?.FetchCount ?? 0; } }
    /// <summary>The most bytes this reader held at once.</summary>
    public long PeakBytesHeld { get { lock (_lock) return _ahead?.PeakBytesHeld ?? 0; } }
    /// <summary>Tasks the read-ahead started that have not ended.</summary>
    public int Outstanding { get { lock (_lock) return _ahead?.Outstanding ?? 0; } }

    /// <summary>
    /// <paramref name="tensor"/> (or its <paramref name="box"/>): from the read-ahead when it is expected at or after the
    /// last read (the expected reads passed over are skipped), else read plainly with <paramref name="parallelism"/>.
    /// </summary>
    public TensorData Read(TensorEntry tensor, Box? box, int parallelism)
    {
        int position = -1;
        ReadAhead? ahead;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_positions.TryGetValue(Key(tensor.Name, box), out var queue))
            {
                while (queue.Count > 0 && queue.Peek() < _cursor) queue.Dequeue();
                if (queue.Count > 0) position = queue.Dequeue();
            }
            if (position >= 0)
            {
                _cursor = position + 1;
                _ahead ??= new ReadAhead(_storage, _plans, _timeline, _ct, _share, _meter);
                ReadsAhead++;
            }
            else PlainReads++;
            ahead = _ahead;
        }
        if (position < 0) return TensorReader.Read(_storage, tensor, box, parallelism, _timeline, _ct);
        var plan = _plans[position];
        var data = new TensorData(tensor.Name, tensor.DType, plan.Target.Lengths);
        try
        {
            ahead!.Fill(position, data);
            return data;
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    static string Key(string name, Box? box) => box is null ? name : $"{name}\0{string.Join(',', box.Offsets)}\0{string.Join(',', box.Lengths)}";

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _ahead?.Dispose();
    }
}
