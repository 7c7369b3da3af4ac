using Ckpt.Errors;

namespace Ckpt.Tests.Storage;

/// <summary>
/// huggingface_hub's cache keeps each file once in `models--org--name/blobs/&lt;hash&gt;` and links it from
/// `snapshots/&lt;revision&gt;/&lt;name&gt;`. Those links leave the snapshot folder, yet they are the commonest way a
/// downloaded model sits on disk; links anywhere else outside the folder stay refused.
/// </summary>
public sealed class HubCacheSnapshotTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("hub-cache");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>The fixture laid out as the hub cache does: every file a blob, linked from the snapshot.</summary>
    string Snapshot(string repo, string fixture)
    {
        var blobs = Directory.CreateDirectory(Path.Combine(_dir, "hub", repo, "blobs")).FullName;
        var snapshot = Directory.CreateDirectory(Path.Combine(_dir, "hub", repo, "snapshots", "0123abcd")).FullName;
        int n = 0;
        foreach (var file in Directory.GetFiles(TestPaths.Fixture(fixture)))
        {
            var blob = $"blob{n++:D4}";
            File.Copy(file, Path.Combine(blobs, blob));
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), Path.Combine("..", "..", "blobs", blob));
        }
        return snapshot;
    }

    [Fact]
    public void A_hub_cache_snapshot_whose_files_link_into_blobs_opens_and_reads_as_the_fixture()
    {
        using var cached = Checkpoint.Open(Snapshot("models--org--tiny", "hf-llama-tiny-sharded"));
        using var fixture = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        Assert.Equal(fixture.Manifest.Tensors.Select(t => t.Name), cached.Manifest.Tensors.Select(t => t.Name));
        foreach (var t in fixture.Manifest.Tensors)
        {
            using var a = fixture.Read(t.Name);
            using var b = cached.Read(t.Name);
            Assert.Equal(a.ToArray(), b.ToArray());
        }
    }

    [Fact]
    public void A_single_file_of_a_snapshot_opens_through_its_link()
    {
        var snapshot = Snapshot("models--org--gpt2", "hf-gpt2-tiny");
        using var cached = Checkpoint.Open(Path.Combine(snapshot, "model.safetensors"));
        Assert.NotEmpty(cached.Manifest.Tensors);
    }

    [Fact]
    public void A_snapshot_link_leaving_the_repository_is_still_refused()
    {
        var snapshot = Snapshot("models--org--tiny", "hf-llama-tiny-sharded");
        var elsewhere = Directory.CreateDirectory(Path.Combine(_dir, "elsewhere")).FullName;
        var shard = Path.Combine(snapshot, "model-00001-of-00006.safetensors");
        File.Copy(shard, Path.Combine(elsewhere, "shard"));
        File.Delete(shard);
        File.CreateSymbolicLink(shard, Path.Combine(elsewhere, "shard"));
        var error = Assert.Throws<CheckpointFormatException>(() =>
        {
            using var ckpt = Checkpoint.Open(snapshot);
            foreach (var t in ckpt.Manifest.Tensors) using (ckpt.Read(t.Name)) { }
        });
        Assert.Equal(FormatErrorReason.PathEscapesCheckpoint, error.Reason);
    }

    [Fact]
    public void A_folder_named_snapshots_outside_a_hub_repository_gets_no_exception()
    {
        var root = Directory.CreateDirectory(Path.Combine(_dir, "runs", "snapshots", "step-1")).FullName;
        var blobs = Directory.CreateDirectory(Path.Combine(_dir, "runs", "blobs")).FullName;
        File.Copy(TestPaths.Fixture("hf-gpt2-tiny", "model.safetensors"), Path.Combine(blobs, "b"));
        File.CreateSymbolicLink(Path.Combine(root, "model.safetensors"), Path.Combine("..", "..", "blobs", "b"));
        var error = Assert.Throws<CheckpointFormatException>(() =>
        {
            using var ckpt = Checkpoint.Open(root);
            foreach (var t in ckpt.Manifest.Tensors) using (ckpt.Read(t.Name)) { }
        });
        Assert.Equal(FormatErrorReason.PathEscapesCheckpoint, error.Reason);
    }
}
