using System.Buffers;
using System.Runtime.ExceptionServices;
using Ckpt.Monitoring;

namespace Ckpt.Planning;

/// <summary>
/// Reads a known sequence of read plans ahead of their consumer, for storages whose tuning asks for it (object stores,
/// <see cref="ReadTuning.ReadAheadRequests"/>): while plan i is filled and used, the GETs of plans i+1, … are already in
/// flight, issued in plan order, up to that many at once. Neighbouring ranges of consecutive plans in the same object
/// are fetched by one GET where the planner's rule allows it (gap ≤ <see cref="ReadTuning.CoalesceGapBytes"/>, GET ≤
/// <see cref="ReadTuning.MaxReadBytes"/>, over-read within <see cref="ReadTuning.MaxOverRead"/> of the bytes the plans
/// need), and the bytes are handed to each plan.
/// </summary>
/// <remarks>
/// Invariants, each tested (ReadAheadTests):
/// - Memory: the bytes fetched and not yet consumed, plus those being fetched, never pass
///   <see cref="ReadTuning.MaxBytesInFlight"/> (times this reader's share where several read ahead at once; a single
///   GET larger than that runs alone), so memory is bounded by the tuning, not by the checkpoint. The GETs also count in the storage-wide bound while they run (not while their
///   bytes wait for the consumer: a consumer blocked elsewhere on that bound cannot then starve its own read-ahead).
/// - Order: GETs are issued in plan order, so the plan being filled never waits behind the budget of later ones.
/// - Skips: plans passed over free their bytes; their GETs are not issued if not yet issued. Going back is refused.
/// - Errors: a failed GET surfaces when a plan that needs it is filled (no later GET is issued), as the storage's own
///   one-sentence exception.
/// - Cancellation (the caller's token or <see cref="Dispose"/>) stops the GETs in flight; Dispose returns once every
///   task it started has ended and every buffer is returned.
/// </remarks>
internal sealed class ReadAhead : IDisposable
{
    /// <summary>One GET: a range of one object, and the parts of plans it serves (at an offset into the GET).</summary>
    sealed class Fetch(string file, long offset, long length)
    {
        public string File { get; } = file;
        public long Offset { get; } = offset;
        public long Length { get; set; } = length;
        public long Needed { get; set; }
        public List<(int Plan, RangeRead Read, long At)> Parts { get; } = [];
        /// <summary>Parts not yet consumed.</summary>
        public int Remaining { get; set; }
        public bool Admitted { get; set; }
        public byte[]? Buffer { get; set; }
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    readonly ICheckpointStorage _storage;
    readonly IReadOnlyList<ReadPlan> _plans;
    readonly List<Fetch> _fetches = [];
    readonly List<int>[] _byPlan;
    readonly OperationTimeline? _timeline;
    readonly CancellationTokenSource _cts;
    readonly long _cap;
    readonly int _requests;
    readonly ReadAheadMeter? _meter;
    readonly object _lock = new();
    readonly List<Task> _tasks = [];
    readonly Task _pump;
    long _held, _peak;
    int _running, _outstanding, _next, _filled;
    Exception? _failure;
    bool _disposed;

    /// <param name="share">
    /// The fraction of <see cref="ReadTuning.MaxBytesInFlight"/> this reader may hold, where several read ahead at once
    /// (a reshard's ranks, written in parallel; a merge's inputs, read in turn); 1 for a single reader.
    /// </param>
    /// <param name="meter">Where the readers of one operation add up the bytes they hold together (optional).</param>
    public ReadAhead(ICheckpointStorage storage, IReadOnlyList<ReadPlan> plans, OperationTimeline? timeline, CancellationToken ct, double share = 1,
        ReadAheadMeter? meter = null)
    {
        _meter = meter;
        _storage = storage;
        _plans = plans;
        _timeline = timeline;
        var tuning = storage.Tuning;
        _requests = Math.Max(1, tuning.ReadAheadRequests);
        _cap = (long)((tuning.MaxBytesInFlight ?? _requests * tuning.MaxReadBytes) * Math.Clamp(share, 0, 1));
        _byPlan = new List<int>[plans.Count];
        // A GET spans at most what one read of this reader's share may (plans are cut the same way by their makers).
        Coalesce(tuning, tuning.ShareReadBytes(share));
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _cts.Token.Register(() => { lock (_lock) Monitor.PulseAll(_lock); });
        Started();
        _pump = Task.Factory.StartNew(Pump, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>GETs this read-ahead issues for its plans (after coalescing across plans).</summary>
    public int FetchCount => _fetches.Count;
    /// <summary>Bytes those GETs fetch.</summary>
    public long BytesFetched => _fetches.Sum(f => f.Length);
    /// <summary>The most bytes ever fetched-and-not-consumed or being fetched at once.</summary>
    public long PeakBytesHeld { get { lock (_lock) return _peak; } }
    public long BytesHeld { get { lock (_lock) return _held; } }
    /// <summary>Tasks started (the pump and the GETs) that have not ended.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    void Started()
    {
        Interlocked.Increment(ref _outstanding);
        _meter?.AddTasks(1);
    }

    void Ended()
    {
        Interlocked.Decrement(ref _outstanding);
        _meter?.AddTasks(-1);
    }

    /// <summary>Joins consecutive ranges (in plan order) of one object into one GET where the tuning's gap rule allows.</summary>
    void Coalesce(ReadTuning tuning, long maxRead)
    {
        var budget = tuning.Budget(null);
        Fetch? current = null;
        for (int p = 0; p < _plans.Count; p++)
        {
            _byPlan[p] = [];
            foreach (var read in _plans[p].Reads)
            {
                long needed = read.Copies.Sum(c => c.Length);
                if (current is not null && current.File == read.File && read.Offset >= current.Offset + current.Length)
                {
                    long gap = read.Offset - (current.Offset + current.Length);
                    long span = read.Offset + read.Length - current.Offset;
                    long need = current.Needed + needed;
                    if (gap <= tuning.CoalesceGapBytes && span <= maxRead && (budget is not double b || span - need <= b * need))
                    {
                        current.Parts.Add((p, read, read.Offset - current.Offset));
                        current.Length = span;
                        current.Needed = need;
                        current.Remaining++;
                        if (_byPlan[p].Count == 0 || _byPlan[p][^1] != _fetches.Count - 1) _byPlan[p].Add(_fetches.Count - 1);
                        continue;
                    }
                }
                current = new Fetch(read.File, read.Offset, read.Length) { Needed = needed, Remaining = 1 };
                current.Parts.Add((p, read, 0));
                _fetches.Add(current);
                _byPlan[p].Add(_fetches.Count - 1);
            }
        }
    }

    /// <summary>Issues the GETs in order, each once it fits the budget and a request slot is free.</summary>
    void Pump()
    {
        var gate = _storage.Tuning.Gate;
        try
        {
            for (; _next < _fetches.Count; _next++)
            {
                var f = _fetches[_next];
                lock (_lock)
                {
                    while (f.Remaining > 0 && _failure is null && !_cts.IsCancellationRequested && !(_running < _requests && (_held == 0 || _held + f.Length <= _cap)))
                        Monitor.Wait(_lock);
                    if (_failure is not null) return;
                    _cts.Token.ThrowIfCancellationRequested();
                    // Every plan it serves was skipped.
                    if (f.Remaining == 0) { f.Done.TrySetCanceled(); continue; }
                    f.Admitted = true;
                    _held += f.Length;
                    _peak = Math.Max(_peak, _held);
                    _meter?.Add(f.Length);
                    _running++;
                }
                InFlightBytes.Ticket ticket;
                try { ticket = gate?.Enter(f.Length, _cts.Token) ?? default; }
                catch
                {
                    lock (_lock) { _running--; Release(f); }
                    throw;
                }
                Started();
                lock (_lock) _tasks.Add(Task.Run(() => Get(f, ticket)));
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            // Fetches never issued: a consumer waiting on one wakes with the failure or the cancellation.
            lock (_lock)
                for (int i = _next; i < _fetches.Count; i++)
                    if (_failure is not null) _fetches[i].Done.TrySetException(_failure); else _fetches[i].Done.TrySetCanceled();
            Ended();
        }
    }

    async Task Get(Fetch f, InFlightBytes.Ticket ticket)
    {
        var start = _timeline?.Now;
        try
        {
            var buffer = ArrayPool<byte>.Shared.Rent((int)f.Length);
            lock (_lock) f.Buffer = buffer;
            if (_storage is Storage.ObjectStorage remote)
                await remote.ReadAsync(f.File, f.Offset, buffer.AsMemory(0, (int)f.Length), IoCategory.Tensor, _cts.Token).ConfigureAwait(false);
            else
                _storage.Read(f.File, f.Offset, buffer.AsSpan(0, (int)f.Length), IoCategory.Tensor);
            if (start is not null) _timeline!.Record("read", f.File, start.Value, f.Length);
            lock (_lock)
            {
                // Every plan it serves was skipped while it was in flight. (Under the lock, so a skip either sees the
                // GET done or leaves the release to it; continuations run asynchronously.)
                if (f.Remaining == 0) Release(f);
                f.Done.TrySetResult();
            }
        }
        catch (Exception e)
        {
            lock (_lock)
            {
                Release(f);
                if (e is OperationCanceledException) f.Done.TrySetCanceled();
                else { _failure ??= e; f.Done.TrySetException(e); }
            }
        }
        finally
        {
            ticket.Dispose();
            lock (_lock) { _running--; Monitor.PulseAll(_lock); }
            Ended();
        }
    }

    /// <summary>
    /// Fills <paramref name="destination"/> with plan <paramref name="index"/>: waits for its GETs, copies their bytes,
    /// frees the GETs no later plan needs, then decodes its compressed fragments as <see cref="TensorReader.Execute"/>
    /// does. Plans are filled in order, each once; plans passed over are skipped (their bytes freed, their GETs not
    /// issued if not yet issued).
    /// </summary>
    public void Fill(int index, TensorData destination)
    {
        // Going back would need bytes already freed; that is a caller's bug, not a case to read around.
        if (index < _filled)
            throw new InvalidOperationException($"read-ahead plans are filled in order: plan {index} was asked for after plan {_filled - 1}");
        while (_filled < index) Skip(_filled++);
        _filled++;
        var ct = _cts.Token;
        ct.ThrowIfCancellationRequested();
        foreach (int k in _byPlan[index])
        {
            var f = _fetches[k];
            try { f.Done.Task.Wait(ct); }
            catch (AggregateException a) when (a.InnerException is not null) { ExceptionDispatchInfo.Capture(a.InnerException).Throw(); }
            var bytes = f.Buffer.AsSpan(0, (int)f.Length);
            int used = 0;
            foreach (var (plan, read, at) in f.Parts)
            {
                if (plan != index) continue;
                foreach (var c in read.Copies)
                    bytes.Slice((int)(at + c.Source), (int)c.Length).CopyTo(destination.Slice(c.Destination, (int)c.Length));
                used++;
            }
            lock (_lock)
            {
                f.Remaining -= used;
                if (f.Remaining == 0) Release(f);
            }
        }
        TensorReader.Decode(_storage, _plans[index], destination, _timeline, ct);
    }

    void Skip(int index)
    {
        lock (_lock)
            foreach (int k in _byPlan[index])
            {
                var f = _fetches[k];
                f.Remaining -= f.Parts.Count(p => p.Plan == index);
                // One in flight is released when its GET ends; one not yet issued is passed over by the pump.
                if (f.Remaining == 0 && f.Done.Task.IsCompleted) Release(f);
                Monitor.PulseAll(_lock);
            }
    }

    /// <summary>Returns a fetch's buffer and its share of the budget (under the lock).</summary>
    void Release(Fetch f)
    {
        if (f.Buffer is { } buffer) { ArrayPool<byte>.Shared.Return(buffer); f.Buffer = null; }
        if (f.Admitted) { f.Admitted = false; _held -= f.Length; _meter?.Add(-f.Length); }
        Monitor.PulseAll(_lock);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cts.Cancel();
        _pump.Wait();
        Task[] tasks;
        lock (_lock) tasks = [.. _tasks];
        try { Task.WaitAll(tasks); } catch (AggregateException) { }
        lock (_lock) foreach (var f in _fetches) Release(f);
        _cts.Dispose();
    }
}

/// <summary>
/// The bytes the read-aheads of one operation hold together (a merge's inputs, a diff's two sides: each reader holds
/// at most its share of <see cref="ReadTuning.MaxBytesInFlight"/>, so together at most the whole), and the most they
/// ever held at once; and the tasks they started that have not ended.
/// </summary>
internal sealed class ReadAheadMeter
{
    long _held, _peak;
    int _tasks;
    readonly object _lock = new();

    public long BytesHeld { get { lock (_lock) return _held; } }
    public long PeakBytesHeld { get { lock (_lock) return _peak; } }
    public int Outstanding => Volatile.Read(ref _tasks);

    internal void AddTasks(int count) => Interlocked.Add(ref _tasks, count);

    internal void Add(long bytes)
    {
        lock (_lock)
        {
            _held += bytes;
            _peak = Math.Max(_peak, _held);
        }
    }
}
