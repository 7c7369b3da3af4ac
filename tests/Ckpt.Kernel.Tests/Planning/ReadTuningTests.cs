using Ckpt.Manifest;
using Ckpt.Planning;
using Ckpt.Storage;
using Ckpt.Tensors;

namespace Ckpt.Tests.Planning;

/// <summary>The planner's parameters come from the storage: local disks keep their plan, object stores read through larger gaps.</summary>
public class ReadTuningTests
{
    /// <summary>An f32 [rows, cols] tensor stored row-major at offset 0 of one file (planning only: nothing is read).</summary>
    static TensorEntry Wide(long rows, long cols) =>
        new("w", DType.F32, [rows, cols], [new Fragment([0, 0], [rows, cols], new Payload("f", 0, rows * cols * 4), [cols, 1])]);

    [Fact]
    public void Local_disks_keep_the_planners_constants()
    {
        Assert.Equal(ReadPlanner.CoalesceGapBytes, ReadTuning.LocalDisk.CoalesceGapBytes);
        Assert.Equal(ReadPlanner.MaxReadBytes, ReadTuning.LocalDisk.MaxReadBytes);
        Assert.Null(ReadTuning.LocalDisk.MaxOverRead);
        Assert.Null(ReadTuning.LocalDisk.MaxBytesInFlight);
        // Local reads stay one tensor at a time (no read-ahead); object stores keep 8 GETs in flight.
        Assert.Equal(0, ReadTuning.LocalDisk.ReadAheadRequests);
        Assert.Equal(8, ReadTuning.ObjectStore().ReadAheadRequests);
        using var local = new LocalStorage(TestPaths.Fixture("hf-llama-tiny-sharded"));
        Assert.Same(ReadTuning.LocalDisk, ((ICheckpointStorage)local).Tuning);
    }

    [Fact]
    public void An_object_store_reads_through_a_96_KiB_gap_that_a_local_disk_reads_around()
    {
        // Rows of 3 MiB + 96 KiB; the slice takes the first 3 MiB of each: three 3 MiB runs, two 96 KiB gaps.
        long cols = (3L << 20) / 4, gap = 96 * 1024 / 4;
        var entry = Wide(3, cols + gap);
        var slice = new Box([0, 0], [3, cols]);
        var local = ReadPlanner.Plan(entry, slice);
        Assert.Equal(3, local.Reads.Count);
        Assert.Equal(local.BytesNeeded, local.BytesRead);

        var remote = ReadPlanner.Plan(entry, slice, tuning: ReadTuning.ObjectStore());
        // The first two rows and the gap between them are one 6.09 MiB GET; a third row would pass 8 MiB.
        Assert.Equal(2, remote.Reads.Count);
        Assert.Equal(remote.BytesNeeded + 96 * 1024, remote.BytesRead);
        Assert.True(remote.BytesRead <= remote.BytesNeeded * 1.02);
        Assert.Equal([0L, (cols + gap) * 4], remote.Reads[0].Copies.Select(c => c.Source).ToArray());
    }

    [Fact]
    public void An_object_store_never_reads_more_than_2_percent_over_what_it_needs()
    {
        // Column slices of narrow rows: 80 needed bytes and 624-byte gaps per row, as a tensor-parallel column split makes.
        var entry = Wide(4096, 176);
        var slice = new Box([0, 100], [4096, 20]);
        var local = ReadPlanner.Plan(entry, slice);
        Assert.True(local.BytesRead > local.BytesNeeded * 5, "a local disk reads the gaps through");
        var remote = ReadPlanner.Plan(entry, slice, tuning: ReadTuning.ObjectStore());
        Assert.Equal(remote.BytesNeeded, remote.BytesRead);

        // Gaps of 1% of the rows are read through, whatever the caller's budget above that.
        var rows = ReadPlanner.Plan(Wide(64, 25_600), new Box([0, 0], [64, 25_344]), maxOverRead: 0.05, tuning: ReadTuning.ObjectStore());
        Assert.Single(rows.Reads);
        Assert.True(rows.BytesRead <= rows.BytesNeeded * 1.02);
    }

    [Fact]
    public void One_long_run_becomes_8_MiB_ranged_gets_on_an_object_store_and_16_MiB_reads_on_disk()
    {
        var entry = Wide(5, (4L << 20) / 4); // 20 MiB, one contiguous run
        var local = ReadPlanner.Plan(entry);
        Assert.Equal([16L << 20, 4L << 20], local.Reads.Select(r => r.Length).ToArray());
        var remote = ReadPlanner.Plan(entry, tuning: ReadTuning.ObjectStore());
        Assert.Equal([8L << 20, 8L << 20, 4L << 20], remote.Reads.Select(r => r.Length).ToArray());
        Assert.Equal([0L, 8L << 20, 16L << 20], remote.Reads.Select(r => r.Copies.Single().Destination).ToArray());
    }

    [Fact]
    public void The_smaller_of_the_storages_and_the_callers_over_read_budget_applies()
    {
        var tuning = ReadTuning.ObjectStore();
        Assert.Equal(0.02, tuning.Budget(0.05));
        Assert.Equal(0.01, tuning.Budget(0.01));
        Assert.Equal(0.02, tuning.Budget(null));
        Assert.Null(ReadTuning.LocalDisk.Budget(null));
        Assert.Equal(0.05, ReadTuning.LocalDisk.Budget(0.05));
    }

    /// <summary>
    /// Readers that read ahead together (a merge's inputs, a reshard's ranks) each hold a share of the 64 MiB budget, and
    /// a read larger than a share still runs alone; so each reader's reads are cut to its share (never below 1 MiB),
    /// and n readers hold at most max(64 MiB, n MiB).
    /// </summary>
    [Theory]
    [InlineData(1.0, 8L << 20)]
    [InlineData(1.0 / 8, 8L << 20)]
    [InlineData(1.0 / 16, 4L << 20)]
    [InlineData(1.0 / 48, (64L << 20) / 48)]
    [InlineData(1.0 / 200, 1L << 20)]
    public void A_readers_reads_are_cut_to_its_share_of_the_object_stores_budget(double share, long expected)
    {
        var store = ReadTuning.ObjectStore();
        Assert.Equal(expected, store.ShareReadBytes(share));
        var tuning = store.ForShare(share);
        if (expected == store.MaxReadBytes) Assert.Same(store, tuning);
        var plan = ReadPlanner.Plan(Wide(1, (32L << 20) / 4), null, tuning: tuning);
        Assert.All(plan.Reads, r => Assert.True(r.Length <= expected, $"a read of {r.Length} bytes for a share of {expected}"));
        Assert.Equal(plan.BytesNeeded, plan.BytesRead);
        // Local disks have no shared budget: their reads keep their length.
        Assert.Same(ReadTuning.LocalDisk, ReadTuning.LocalDisk.ForShare(share));
    }
}
