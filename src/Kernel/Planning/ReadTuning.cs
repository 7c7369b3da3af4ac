namespace Ckpt.Planning;

/// <summary>
/// How the read planner cuts the reads of one storage: which gaps between needed byte runs are read through, how long
/// one request may be (a longer run is split into requests of that size, issued in parallel), how much a merged request
/// may read beyond what it needs, and how many bytes of range reads may be outstanding at once. A local disk and an
/// object store differ in what a request costs: a syscall against a round trip (plus a request charge).
/// </summary>
public sealed class ReadTuning
{
    /// <summary>Runs closer than this are read as one range.</summary>
    public required long CoalesceGapBytes { get; init; }
    /// <summary>Upper bound of one range read; a longer run is split into reads of this size.</summary>
    public required long MaxReadBytes { get; init; }
    /// <summary>
    /// When set, a gap is only read through while the gap bytes of the merged range stay within this fraction of the
    /// bytes it needs; the bytes a plan reads are then at most (1 + this) × the bytes it needs. A caller's own budget
    /// (a reshard's 5%) applies too: the smaller one wins.
    /// </summary>
    public double? MaxOverRead { get; init; }
    /// <summary>
    /// When set, range reads of this storage wait while this many bytes are already being read (all threads together),
    /// so buffers and sockets stay bounded however many readers run; a single read larger than this runs alone.
    /// </summary>
    public long? MaxBytesInFlight { get; init; }

    /// <summary>
    /// When above 0, a reader that knows the tensors it will read next (a rank's shards) reads ahead: up to this many
    /// GETs in flight, for the next tensors while the current one is used, within <see cref="MaxBytesInFlight"/>, and
    /// neighbouring small tensors of one object fetched by one GET (<see cref="ReadAhead"/>). 0: one tensor at a time.
    /// </summary>
    public int ReadAheadRequests { get; init; }

    InFlightBytes? _gate;

    /// <summary>The most bytes of range reads that were in flight at once (0 when unbounded).</summary>
    public long PeakBytesInFlight => _gate?.Peak ?? 0;

    /// <summary>The shared counter of bytes in flight, or null when unbounded.</summary>
    internal InFlightBytes? Gate => MaxBytesInFlight is long cap
        ? LazyInitializer.EnsureInitialized(ref _gate, () => new InFlightBytes(cap))
        : null;

    /// <summary>
    /// Local files: a gap under 64 KiB is read through (one syscall beats two), ranges of at most 16 MiB, no budget of
    /// its own, and bytes in flight bounded only by the workers (workers × 16 MiB).
    /// </summary>
    public static ReadTuning LocalDisk { get; } = new() { CoalesceGapBytes = 64 * 1024, MaxReadBytes = 16L << 20 };

    /// <summary>
    /// Object stores (S3, Azure Blob): a GET costs a round trip, so gaps up to 512 KiB are read through (on loopback a
    /// GET costs about what reading 200-500 KB costs; in a cloud region, 20-50 ms first byte at ~100 MB/s, several MB);
    /// over-read stays within 2% of the needed bytes, so a plan never fetches more than 1.02× what it needs (with 8 MiB
    /// GETs that bound limits the gap first: about 160 KiB at most; 512 KiB is the ceiling for a larger budget); one long
    /// run becomes 8 MiB ranged GETs issued in parallel; at most 64 MiB of ranged GETs in flight per storage; a reader
    /// that knows its next tensors keeps <paramref name="readAheadRequests"/> GETs in flight (the SDKs' own downloads keep 8).
    /// A new instance per storage: the in-flight bound is per storage.
    /// </summary>
    public static ReadTuning ObjectStore(int readAheadRequests = 8) => new()
    {
        ReadAheadRequests = readAheadRequests,
        CoalesceGapBytes = 512 * 1024,
        MaxReadBytes = 8L << 20,
        MaxOverRead = 0.02,
        MaxBytesInFlight = 64L << 20,
    };

    /// <summary>The shortest read a reader's share cuts reads to (<see cref="ForShare"/>): below it a GET costs more in
    /// round trips than the bytes it saves.</summary>
    internal const long MinShareReadBytes = 1L << 20;

    /// <summary>
    /// The longest read of a reader that may hold <paramref name="share"/> of <see cref="MaxBytesInFlight"/> (several
    /// read ahead at once: a merge's inputs, a reshard's ranks): no longer than its share, so that one read running
    /// alone past a share (<see cref="ReadAhead"/>) cannot take the readers together past the budget; never below
    /// <see cref="MinShareReadBytes"/>, so n readers with n above 64 hold at most n MiB.
    /// </summary>
    internal long ShareReadBytes(double share) => MaxBytesInFlight is long cap
        ? Math.Clamp((long)(cap * Math.Clamp(share, 0, 1)), Math.Min(MinShareReadBytes, MaxReadBytes), MaxReadBytes)
        : MaxReadBytes;

    /// <summary>This tuning with reads cut to <see cref="ShareReadBytes"/>, for planning a reader's reads; itself when its reads already fit.</summary>
    internal ReadTuning ForShare(double share) => ShareReadBytes(share) is var limit && limit >= MaxReadBytes ? this : new()
    {
        CoalesceGapBytes = CoalesceGapBytes,
        MaxReadBytes = limit,
        MaxOverRead = MaxOverRead,
        MaxBytesInFlight = MaxBytesInFlight,
        ReadAheadRequests = ReadAheadRequests,
    };

    /// <summary>The smaller of this storage's budget and the caller's, or whichever is set.</summary>
    internal double? Budget(double? caller) => (MaxOverRead, caller) switch
    {
        (double a, double b) => Math.Min(a, b),
        (double a, null) => a,
        (null, var b) => b,
    };
}

/// <summary>A count of bytes being read, bounded: <see cref="Enter"/> waits until the bytes fit (or nothing is in flight).</summary>
internal sealed class InFlightBytes(long cap)
{
    readonly object _lock = new();
    long _inFlight;
    long _peak;

    public long Cap => cap;
    /// <summary>The most bytes ever in flight at once (for tests and figures).</summary>
    public long Peak { get { lock (_lock) return _peak; } }

    public Ticket Enter(long bytes, CancellationToken ct)
    {
        lock (_lock)
        {
            while (_inFlight > 0 && _inFlight + bytes > cap)
            {
                ct.ThrowIfCancellationRequested();
                Monitor.Wait(_lock, 100);
            }
            _inFlight += bytes;
            _peak = Math.Max(_peak, _inFlight);
        }
        return new Ticket(this, bytes);
    }

    void Leave(long bytes)
    {
        lock (_lock)
        {
            _inFlight -= bytes;
            Monitor.PulseAll(_lock);
        }
    }

    public readonly struct Ticket(InFlightBytes owner, long bytes) : IDisposable
    {
        public void Dispose() => owner?.Leave(bytes);
    }
}
