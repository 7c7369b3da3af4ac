using Ckpt.Pickle;

namespace Ckpt.Tests.Pickle;

public class PickleMemoTests
{
    [Fact]
    public void Entries_put_out_of_order_are_all_recalled_and_counted_once()
    {
        var memo = new PickleMemo();
        memo.Set(2, "c");
        memo.Set(5000, "far");
        memo.Set(1, "b");
        memo.Set(0, "a");
        memo.Set(1, "b2");
        Assert.Equal(4, memo.Count);
        Assert.True(memo.TryGet(0, out var a) && (string)a! == "a");
        Assert.True(memo.TryGet(1, out var b) && (string)b! == "b2");
        Assert.True(memo.TryGet(2, out var c) && (string)c! == "c");
        Assert.True(memo.TryGet(5000, out var far) && (string)far! == "far");
        Assert.False(memo.TryGet(3, out _));
    }

    [Fact]
    public void A_run_crossing_segments_keeps_every_entry()
    {
        var memo = new PickleMemo();
        for (long i = 0; i < 10_000; i++) memo.Set(memo.Count, i);
        Assert.Equal(10_000, memo.Count);
        foreach (long i in new long[] { 0, 4095, 4096, 8191, 8192, 9999 })
            Assert.True(memo.TryGet(i, out var v) && (long)v! == i);
        Assert.False(memo.Contains(10_000));
    }

    [Fact]
    public void A_put_at_index_2_pow_32_minus_1_stores_one_entry_without_sizing_anything_by_it()
    {
        var memo = new PickleMemo();
        long before = GC.GetAllocatedBytesForCurrentThread();
        memo.Set(uint.MaxValue, "x");
        memo.Set(memo.Count, "memoized"); // MEMOIZE after it: index 1, off the run from 0
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4096);
        Assert.Equal(2, memo.Count);
        Assert.True(memo.TryGet(uint.MaxValue, out var x) && (string)x! == "x");
        memo.Set(0, "zero"); // extends the run to 0 and pulls index 1 in behind it
        Assert.Equal(3, memo.Count);
        Assert.True(memo.TryGet(1, out var m) && (string)m! == "memoized");
    }

    [Fact]
    public void A_flood_of_one_byte_memoizes_costs_about_8_bytes_an_entry()
    {
        const int n = 1_000_000;
        var pickle = new byte[n + 5];
        pickle[0] = 0x80; pickle[1] = 4; pickle[2] = (byte)'N';
        pickle.AsSpan(3, n).Fill(0x94);
        pickle[^2] = (byte)'0'; pickle[^1] = (byte)'N';
        var withStop = pickle.Append((byte)'.').ToArray();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Null(Unpickler.Load(withStop));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 10L * n, $"{allocated:N0} bytes allocated for {n:N0} MEMOIZE opcodes");
    }
}
