using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Ckpt.Tensors;

/// <summary>
/// Reuses large native buffers between tensors. Streaming a checkpoint allocates and frees one tensor
/// after another; fresh memory costs a page fault per 4 KB on first touch, which halves read throughput
/// from the page cache. Buffers are kept in power-of-two buckets up to a fixed total.
/// </summary>
static unsafe class NativeBufferPool
{
    const long MinPooled = 1L << 20;
    public static long MaxPooledBytes { get; set; } = 512L << 20;

    static readonly ConcurrentDictionary<long, ConcurrentBag<nint>> _buckets = new();
    static long _pooledBytes;
    static long _rentedBytes;

    /// <summary>Bytes handed out since the process started (pooled or fresh): lets tests bound what reading a file costs.</summary>
    public static long RentedBytes => Interlocked.Read(ref _rentedBytes);

    public static byte* Rent(long bytes, out long capacity)
    {
        Interlocked.Add(ref _rentedBytes, Math.Max(bytes, 1));
        if (bytes < MinPooled)
        {
            capacity = Math.Max(bytes, 1);
            return (byte*)NativeMemory.AlignedAlloc((nuint)capacity, 64);
        }
        capacity = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)bytes);
        if (_buckets.TryGetValue(capacity, out var bag) && bag.TryTake(out var p))
        {
            Interlocked.Add(ref _pooledBytes, -capacity);
            return (byte*)p;
        }
        var fresh = (byte*)NativeMemory.AlignedAlloc((nuint)capacity, HugePage);
        AdviseHugePages(fresh, capacity);
        return fresh;
    }

    const int HugePage = 2 << 20;

    /// <summary>
    /// Asks Linux for transparent huge pages on a fresh buffer. With the common `madvise` THP mode, a 4 KB page
    /// fault per 4 KB of a first touch otherwise costs as much as reading the bytes from the page cache.
    /// </summary>
    static void AdviseHugePages(byte* ptr, long length)
    {
        if (!OperatingSystem.IsLinux() || length < HugePage) return;
        try { _ = madvise(ptr, (nuint)length, MadvHugePage); }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
    }

    const int MadvHugePage = 14;

    [DllImport("libc", SetLastError = false)]
    static extern int madvise(void* addr, nuint length, int advice);

    public static void Return(byte* ptr, long capacity)
    {
        if (capacity >= MinPooled && Interlocked.Add(ref _pooledBytes, capacity) <= MaxPooledBytes)
        {
            _buckets.GetOrAdd(capacity, _ => new ConcurrentBag<nint>()).Add((nint)ptr);
            return;
        }
        if (capacity >= MinPooled) Interlocked.Add(ref _pooledBytes, -capacity);
        NativeMemory.AlignedFree(ptr);
    }
}
