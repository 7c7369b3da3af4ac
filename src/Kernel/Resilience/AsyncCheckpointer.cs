using System.Diagnostics;
using Ckpt.Monitoring;

namespace Ckpt.Resilience;

/// <summary>
/// Saves training state every few steps without stopping the loop for the I/O (DataStates-LLM,
/// ByteCheckpoint's async pipeline): <see cref="SaveAsync"/> blocks only while the tensors are copied into
/// host buffers; serialising, writing, fsync and the atomic commit run on a background task. One save is
/// in flight at a time: the next save first waits for the previous one, which also lets it reuse the
/// previous snapshot's buffers. A failed background save surfaces from the next SaveAsync or FlushAsync.
/// </summary>
public sealed class AsyncCheckpointer : IAsyncDisposable
{
    readonly CheckpointDirectory _directory;
    readonly ISnapshotWriter _writer;
    readonly Dictionary<string, byte[]> _buffers = new(StringComparer.Ordinal);
    readonly List<SaveRecord> _history = [];
    Task<CommittedCheckpoint>? _inflight;
    Task? _snapshotting;
    SaveRecord? _lastAsync;

    public AsyncCheckpointer(CheckpointDirectory directory, ISnapshotWriter? writer = null)
    {
        _directory = directory;
        _writer = writer ?? new SafetensorsSnapshotWriter();
    }

    public CheckpointDirectory Directory => _directory;

    /// <summary>Every save so far: its step, how long the caller was blocked, and its phase timeline.</summary>
    public IReadOnlyList<SaveRecord> History { get { lock (_history) return _history.ToArray(); } }

    /// <summary>
    /// Snapshots <paramref name="state"/> and commits it in the background; the returned save's
    /// <see cref="PendingSave.Committed"/> completes when the step is durable. With
    /// <see cref="SnapshotMode.Eager"/> the caller waits for the host copy (after any previous save). With
    /// <see cref="SnapshotMode.Lazy"/> (DataStates-LLM) the copy also runs in the background, overlapping the
    /// next forward/backward pass, which only read the tensors; the caller must then call
    /// <see cref="WaitForSnapshotAsync"/> before it next mutates them (the optimizer step).
    /// </summary>
    public async ValueTask<PendingSave> SaveAsync(long step, IReadOnlyList<StateTensor> state,
        IReadOnlyDictionary<string, string>? metadata = null, SnapshotMode mode = SnapshotMode.Eager,
        CancellationToken cancellationToken = default)
    {
        long began = Stopwatch.GetTimestamp();
        var timeline = new OperationTimeline($"save step {step}");
        if (_inflight is { } previous)
        {
            var waitStart = timeline.Now;
            await Settle(previous.WaitAsync(cancellationToken)).ConfigureAwait(false);
            timeline.Record("wait", "previous save", waitStart, 0);
        }
        cancellationToken.ThrowIfCancellationRequested();
        var (snapshot, buffers) = PrepareSnapshot(step, state, metadata);

        Task<CommittedCheckpoint> commit;
        if (mode == SnapshotMode.Eager)
        {
            CopyState(state, buffers, snapshot, timeline);
            commit = Task.Run(() => _directory.Commit(snapshot, _writer, timeline), CancellationToken.None);
        }
        else
        {
            var copied = Task.Run(() => CopyState(state, buffers, snapshot, timeline), CancellationToken.None);
            _snapshotting = copied;
            commit = Task.Run(async () =>
            {
                await copied.ConfigureAwait(false);
                return _directory.Commit(snapshot, _writer, timeline);
            }, CancellationToken.None);
        }
        _inflight = commit;
        var stall = Stopwatch.GetElapsedTime(began);
        var record = new SaveRecord(step, timeline, Async: true) { Stall = stall };
        lock (_history) _history.Add(record);
        _lastAsync = record;
        return new PendingSave(step, stall, timeline, commit);
    }

    /// <summary>
    /// After a lazy save: returns once the state's host copy is complete, so the state may be mutated.
    /// The time blocked here counts as the save's stall. Returns at once after eager saves.
    /// </summary>
    public async ValueTask WaitForSnapshotAsync()
    {
        if (_snapshotting is not { } copying) return;
        long began = Stopwatch.GetTimestamp();
        await copying.ConfigureAwait(false);
        _snapshotting = null;
        if (_lastAsync is { } record) record.Stall += Stopwatch.GetElapsedTime(began);
    }

    /// <summary>
    /// The synchronous baseline: the caller is blocked for the whole save. Host-memory state is written
    /// directly, without the snapshot copy an async save needs.
    /// </summary>
    public CommittedCheckpoint Save(long step, IReadOnlyList<StateTensor> state, IReadOnlyDictionary<string, string>? metadata = null)
    {
        long began = Stopwatch.GetTimestamp();
        if (_inflight is { } previous) Settle(previous).GetAwaiter().GetResult();
        var timeline = new OperationTimeline($"save step {step} (sync)");
        var start = timeline.Now;
        var tensors = new SnapshotTensor[state.Count];
        long copied = 0;
        for (int i = 0; i < state.Count; i++)
        {
            var s = state[i];
            if (!s.TryBorrow(out var bytes))
            {
                var buffer = new byte[s.ByteLength];
                s.CopyTo(buffer);
                bytes = buffer;
                copied += buffer.Length;
            }
            tensors[i] = new SnapshotTensor(s.Name, s.DType, s.Shape, bytes);
        }
        timeline.Record("snapshot", $"step {step}", start, copied);
        var committed = _directory.Commit(new Snapshot(step, tensors) { Metadata = metadata ?? new Dictionary<string, string>() }, _writer, timeline);
        lock (_history) _history.Add(new SaveRecord(step, timeline, Async: false) { Stall = Stopwatch.GetElapsedTime(began) });
        return committed;
    }

    /// <summary>Waits until the save in flight, if any, is committed; rethrows its failure (once).</summary>
    public async Task FlushAsync()
    {
        if (_inflight is { } t) await Settle(t).ConfigureAwait(false);
    }

    // A failed save is reported once, by whichever call waits for it next; later saves start afresh.
    async Task Settle(Task previous)
    {
        try { await previous.ConfigureAwait(false); }
        catch when (previous.IsFaulted || previous.IsCanceled)
        {
            _inflight = null;
            _snapshotting = null;
            throw;
        }
    }

    public async ValueTask DisposeAsync() => await FlushAsync().ConfigureAwait(false);

    (Snapshot, byte[][]) PrepareSnapshot(long step, IReadOnlyList<StateTensor> state, IReadOnlyDictionary<string, string>? metadata)
    {
        if (state.Select(s => s.Name).Distinct(StringComparer.Ordinal).Count() != state.Count)
            throw new ArgumentException("state tensor names must be unique", nameof(state));
        var tensors = new SnapshotTensor[state.Count];
        var buffers = new byte[state.Count][];
        for (int i = 0; i < state.Count; i++)
        {
            var s = state[i];
            if (s.ByteLength > Array.MaxLength) throw new NotSupportedException($"{s.Name}: tensors over {Array.MaxLength} bytes are not supported by the snapshot buffers");
            if (!_buffers.TryGetValue(s.Name, out var buffer) || buffer.LongLength != s.ByteLength)
                _buffers[s.Name] = buffer = GC.AllocateUninitializedArray<byte>((int)s.ByteLength, pinned: true);
            buffers[i] = buffer;
            tensors[i] = new SnapshotTensor(s.Name, s.DType, s.Shape, buffer);
        }
        return (new Snapshot(step, tensors) { Metadata = metadata ?? new Dictionary<string, string>() }, buffers);
    }

    static void CopyState(IReadOnlyList<StateTensor> state, byte[][] buffers, Snapshot snapshot, OperationTimeline timeline)
    {
        var start = timeline.Now;
        // Array copies are memcpy-bound, so a few in parallel help on multi-channel machines; Torch tensors
        // copy inside LibTorch.
        Parallel.For(0, state.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(4, Environment.ProcessorCount) },
            i => state[i].CopyTo(buffers[i]));
        timeline.Record("snapshot", $"step {snapshot.Step}", start, snapshot.ByteCount);
    }
}

/// <summary>When the host copy of an async save happens.</summary>
public enum SnapshotMode
{
    /// <summary>Inside SaveAsync, on the caller's thread: simplest, the caller may mutate state right after.</summary>
    Eager,
    /// <summary>In the background; the caller calls WaitForSnapshotAsync before mutating state.</summary>
    Lazy,
}

/// <summary>A save whose snapshot is taken; <see cref="Committed"/> completes once it is durable.</summary>
public sealed record PendingSave(long Step, TimeSpan Stall, OperationTimeline Timeline, Task<CommittedCheckpoint> Committed);

/// <summary>One save: how long the training loop was blocked (so far, for a lazy save) and the timeline of its phases.</summary>
public sealed record SaveRecord(long Step, OperationTimeline Timeline, bool Async)
{
    public TimeSpan Stall { get; internal set; }
}
