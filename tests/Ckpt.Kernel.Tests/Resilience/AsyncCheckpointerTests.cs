using System.Runtime.InteropServices;
using Ckpt.Resilience;
using Ckpt.Tensors;
using TorchSharp;

namespace Ckpt.Kernel.Tests.Resilience;

public class AsyncCheckpointerTests : IDisposable
{
    readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    static float[] Ramp(int n, float start) => Enumerable.Range(0, n).Select(i => start + i * 0.5f).ToArray();

    static float[] ReadFloats(CommittedCheckpoint committed, string name)
    {
        using var ckpt = CheckpointDirectory.Open(committed);
        using var data = ckpt.Read(name);
        return data.ToFloats();
    }

    [Fact]
    public async Task An_eager_save_holds_the_state_as_it_was_when_SaveAsync_returned()
    {
        var weights = Ramp(10_000, 1f);
        var expected = (float[])weights.Clone();
        var bytes = Enumerable.Range(0, 33).Select(i => (byte)i).ToArray();
        await using var checkpointer = new AsyncCheckpointer(new CheckpointDirectory(_folder.Path));
        var save = await checkpointer.SaveAsync(5, [StateTensor.FromArray("w", DType.F32, weights, 100, 100), StateTensor.FromBytes("raw", DType.U8, bytes, 33)]);
        Array.Fill(weights, -7f); // the loop carries on mutating while the save is written
        Array.Clear(bytes);
        var committed = await save.Committed;

        Assert.Equal(expected, ReadFloats(committed, "w"));
        using var ckpt = CheckpointDirectory.Open(committed);
        using var raw = ckpt.Read("raw");
        Assert.Equal(Enumerable.Range(0, 33).Select(i => (byte)i), raw.ToArray());
    }

    [Fact]
    public async Task A_lazy_save_holds_the_state_as_it_was_at_the_save_once_the_fence_is_passed()
    {
        var weights = Ramp(50_000, 3f);
        var expected = (float[])weights.Clone();
        await using var checkpointer = new AsyncCheckpointer(new CheckpointDirectory(_folder.Path));
        var save = await checkpointer.SaveAsync(1, [StateTensor.FromArray("w", DType.F32, weights)], mode: SnapshotMode.Lazy);
        await checkpointer.WaitForSnapshotAsync();
        Array.Fill(weights, 0f);
        Assert.Equal(expected, ReadFloats(await save.Committed, "w"));
    }

    [Fact]
    public async Task Every_save_records_its_phases_and_the_next_save_waits_for_the_previous_commit()
    {
        var weights = Ramp(1000, 0f);
        var dir = new CheckpointDirectory(_folder.Path);
        await using var checkpointer = new AsyncCheckpointer(dir);
        var first = await checkpointer.SaveAsync(1, [StateTensor.FromArray("w", DType.F32, weights)]);
        weights[0] = 42f;
        var second = await checkpointer.SaveAsync(2, [StateTensor.FromArray("w", DType.F32, weights)]);
        Assert.True(first.Committed.IsCompletedSuccessfully, "the second save started before the first was committed");
        await checkpointer.FlushAsync();

        foreach (var phase in new[] { "snapshot", "serialise", "write", "fsync", "commit" })
            Assert.Contains(phase, first.Timeline.Phases.Keys);
        Assert.Contains("wait", second.Timeline.Phases.Keys);
        Assert.Equal([1, 2], dir.Complete().Select(c => c.Step));
        Assert.Equal(42f, ReadFloats(dir.Newest()!, "w")[0]);
        Assert.Equal(2, checkpointer.History.Count);
    }

    [Fact]
    public async Task TorchSharp_tensors_are_snapshotted_through_a_host_copy()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.arange(24, dtype: torch.float32).reshape(2, 3, 4);
        var strided = torch.arange(12, dtype: torch.int64).reshape(3, 4).t(); // not contiguous
        await using var checkpointer = new AsyncCheckpointer(new CheckpointDirectory(_folder.Path));
        var save = await checkpointer.SaveAsync(3, [StateTensor.FromTorch("t", t), StateTensor.FromTorch("s", strided)]);
        t.mul_(0);
        var committed = await save.Committed;

        Assert.Equal(Enumerable.Range(0, 24).Select(i => (float)i), ReadFloats(committed, "t"));
        using var ckpt = CheckpointDirectory.Open(committed);
        using var s = ckpt.Read("s");
        Assert.Equal([4L, 3L], s.Shape);
        Assert.Equal(new long[] { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }, MemoryMarshal.Cast<byte, long>(s.Bytes).ToArray());
    }

    [Fact]
    public async Task A_failed_background_save_surfaces_from_the_next_save_and_leaves_no_step_behind()
    {
        var dir = new CheckpointDirectory(_folder.Path);
        var checkpointer = new AsyncCheckpointer(dir, new FailingWriter());
        var save = await checkpointer.SaveAsync(1, [StateTensor.FromArray("w", DType.F32, Ramp(10, 0))]);
        await Assert.ThrowsAsync<IOException>(() => save.Committed);
        await Assert.ThrowsAsync<IOException>(async () => await checkpointer.SaveAsync(2, [StateTensor.FromArray("w", DType.F32, Ramp(10, 0))]));
        Assert.Null(dir.Newest());
        Assert.Empty(Directory.EnumerateDirectories(_folder.Path));
        await checkpointer.FlushAsync(); // reported once, then the checkpointer is usable again
    }

    [Fact]
    public void A_synchronous_save_writes_host_arrays_without_copying_them_first()
    {
        var weights = Ramp(4096, 2f);
        var checkpointer = new AsyncCheckpointer(new CheckpointDirectory(_folder.Path));
        var committed = checkpointer.Save(9, [StateTensor.FromArray("w", DType.F32, weights)]);
        Assert.Equal(weights, ReadFloats(committed, "w"));
        Assert.Equal(0, checkpointer.History[0].Timeline.Phases["snapshot"].Bytes);
    }

    sealed class FailingWriter : ISnapshotWriter
    {
        public void Write(Snapshot snapshot, ISnapshotSink sink, Ckpt.Monitoring.OperationTimeline timeline)
        {
            using var s = sink.Create("half.bin");
            s.Write(new byte[10]);
            throw new IOException("disk full");
        }
    }
}
