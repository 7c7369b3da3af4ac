using System.Runtime.InteropServices;
using Ckpt.Errors;
using Ckpt.Resilience;
using Ckpt.Tensors;

namespace Ckpt.Kernel.Tests.Resilience;

public class CheckpointDirectoryTests : IDisposable
{
    readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    static Snapshot StateAt(long step)
    {
        var rng = new Random((int)step);
        var weights = new float[3 * 50];
        for (int i = 0; i < weights.Length; i++) weights[i] = (float)rng.NextDouble();
        var counts = new long[] { step, step * 2 };
        return new Snapshot(step,
        [
            new SnapshotTensor("layer.weight", DType.F32, [3, 50], MemoryMarshal.AsBytes(weights.AsSpan()).ToArray()),
            new SnapshotTensor("optimizer.step", DType.I64, [2], MemoryMarshal.AsBytes(counts.AsSpan()).ToArray()),
        ]);
    }

    [Fact]
    public void A_committed_step_opens_verified_with_the_tensors_that_were_saved()
    {
        var dir = new CheckpointDirectory(_folder.Path);
        var snapshot = StateAt(7);
        dir.Commit(snapshot);

        var newest = dir.Newest()!;
        Assert.Equal(7, newest.Step);
        Assert.Equal(7, dir.TrackedStep());
        using var ckpt = CheckpointDirectory.Open(newest);
        foreach (var t in snapshot.Tensors)
        {
            using var data = ckpt.Read(t.Name);
            Assert.Equal(t.Shape, data.Shape);
            Assert.True(t.Bytes.Span.SequenceEqual(data.Bytes), t.Name);
        }
    }

    [Fact]
    public void A_flipped_bit_is_detected_on_load_and_the_file_is_named()
    {
        var dir = new CheckpointDirectory(_folder.Path);
        var committed = dir.Commit(StateAt(3));
        var file = Path.Combine(committed.Path, "model.safetensors");
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length - 100] ^= 0x10;
        File.WriteAllBytes(file, bytes);

        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointDirectory.Open(dir.Newest()!));
        Assert.Equal(FormatErrorReason.ChecksumMismatch, e.Reason);
        Assert.Equal("step-3/model.safetensors", e.File);
        Assert.Contains("step-3/model.safetensors", e.Message);
    }

    [Fact]
    public void A_truncated_file_is_detected_on_load_and_the_file_is_named()
    {
        var dir = new CheckpointDirectory(_folder.Path);
        var committed = dir.Commit(StateAt(4));
        var file = Path.Combine(committed.Path, "model.safetensors");
        long length = new FileInfo(file).Length;
        using (var fs = new FileStream(file, FileMode.Open)) fs.SetLength(length - 9);

        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointDirectory.Verify(dir.Newest()!));
        Assert.Equal(FormatErrorReason.Truncated, e.Reason);
        Assert.Equal("step-4/model.safetensors", e.File);
        Assert.Equal($"{length} bytes", e.Expected);
        Assert.Equal($"{length - 9} bytes", e.Found);
    }

    [Fact]
    public void A_corrupted_manifest_makes_its_step_incomplete_and_the_previous_one_is_picked()
    {
        var dir = new CheckpointDirectory(_folder.Path);
        dir.Commit(StateAt(1));
        var second = dir.Commit(StateAt(2));
        var manifest = Path.Combine(second.Path, StepManifest.FileName);
        var text = File.ReadAllText(manifest);
        File.WriteAllText(manifest, text.Replace("\"step\":2", "\"step\":3"));

        var e = Assert.Throws<CheckpointFormatException>(() => StepManifest.Read(manifest));
        Assert.Equal(FormatErrorReason.ChecksumMismatch, e.Reason);
        Assert.Equal("step-2/manifest.json", e.File);
        Assert.Equal(1, dir.Newest()!.Step);
    }

    [Fact]
    public void Torn_folders_are_never_picked_as_the_newest_checkpoint()
    {
        var dir = new CheckpointDirectory(_folder.Path);
        var good = dir.Commit(StateAt(5));
        // a commit interrupted after its manifest was written but before the rename
        var torn = dir.Commit(StateAt(9));
        Directory.Move(torn.Path, torn.Path + ".tmp-0123456789abcdef");
        // a step folder whose manifest never made it
        var noManifest = dir.Commit(StateAt(8));
        File.Delete(Path.Combine(noManifest.Path, StepManifest.FileName));
        // a step folder being deleted
        var deleting = dir.Commit(StateAt(7));
        Directory.Move(deleting.Path, deleting.Path + ".deleting-0123");

        Assert.Equal([5], dir.Complete().Select(c => c.Step));
        Assert.Equal(good.Path, dir.Newest()!.Path);

        dir.RemoveAbandoned();
        Assert.False(Directory.Exists(torn.Path + ".tmp-0123456789abcdef"));
        Assert.False(Directory.Exists(deleting.Path + ".deleting-0123"));
        Assert.True(Directory.Exists(good.Path));
    }

    [Fact]
    public void Pruning_keeps_the_newest_steps_and_the_tracker_names_the_last_commit()
    {
        var dir = new CheckpointDirectory(_folder.Path) { KeepLast = 2 };
        for (long s = 10; s <= 14; s++) dir.Commit(StateAt(s));
        Assert.Equal([13, 14], dir.Complete().Select(c => c.Step));
        Assert.Equal(14, dir.TrackedStep());
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_folder.Path), p => p.Contains(".tmp-") || p.Contains(".deleting-"));
    }

    [Fact]
    public void Committing_a_step_again_replaces_it_whole()
    {
        var dir = new CheckpointDirectory(_folder.Path);
        dir.Commit(StateAt(6));
        var changed = StateAt(6) with { Metadata = new Dictionary<string, string> { ["resumed"] = "yes" } };
        dir.Commit(changed);
        var newest = dir.Newest()!;
        Assert.Equal("yes", newest.Manifest.Metadata["resumed"]);
        CheckpointDirectory.Verify(newest);
    }
}
