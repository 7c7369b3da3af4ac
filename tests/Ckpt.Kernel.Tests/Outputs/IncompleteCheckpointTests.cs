using Ckpt.Errors;
using Ckpt.Resilience;

namespace Ckpt.Tests.Outputs;

/// <summary>What an interrupted write leaves is refused as incomplete by every reader, never read as a smaller checkpoint.</summary>
public sealed class IncompleteCheckpointTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("incomplete");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    string Copy(string fixture, string? name = null)
    {
        var to = Path.Combine(_dir, name ?? fixture);
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(TestPaths.Fixture(fixture))) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        return to;
    }

    static CheckpointFormatException Refused(string path)
    {
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path).Dispose());
        Assert.DoesNotContain("\n", e.Message);
        return e;
    }

    [Theory]
    [InlineData("hf-llama-tiny-sharded", "model.safetensors.index.json", FormatErrorReason.Incomplete)]
    [InlineData("hf-llama-tiny-bin", "pytorch_model.bin.index.json", FormatErrorReason.Incomplete)]
    [InlineData("hf-llama-tiny-sharded", "model-00004-of-00006.safetensors", FormatErrorReason.MissingFile)]
    [InlineData("hf-llama-tiny-bin", "pytorch_model-00002-of-00003.bin", FormatErrorReason.MissingFile)]
    public void Shards_without_their_index_or_with_one_missing_are_refused_naming_what_is_missing(string fixture, string deleted, FormatErrorReason reason)
    {
        var folder = Copy(fixture);
        File.Delete(Path.Combine(folder, deleted));
        var e = Refused(folder);
        Assert.Equal(reason, e.Reason);
        Assert.Contains(deleted, e.Message);
    }

    [Fact]
    public void A_lone_first_shard_is_refused_as_incomplete_not_read_as_a_one_file_checkpoint()
    {
        var folder = Path.Combine(_dir, "lone");
        Directory.CreateDirectory(folder);
        File.Copy(TestPaths.Fixture("hf-llama-tiny-sharded", "model-00001-of-00006.safetensors"), Path.Combine(folder, "model-00001-of-00006.safetensors"));
        Assert.Equal(FormatErrorReason.Incomplete, Refused(folder).Reason);
    }

    [Fact]
    public void A_dcp_folder_without_its_metadata_is_refused_as_incomplete()
    {
        var folder = Copy("dcp-dtensor1d-4rank");
        File.Delete(Path.Combine(folder, ".metadata"));
        var e = Refused(folder);
        Assert.Equal(FormatErrorReason.Incomplete, e.Reason);
        Assert.Contains(".metadata", e.Message);
    }

    [Fact]
    public void A_staging_folder_and_a_temp_file_are_never_read_as_checkpoints()
    {
        var staging = Copy("hf-gpt2-tiny", ".out.ckpt-staging-0123456789ab");
        Assert.Equal(FormatErrorReason.Incomplete, Refused(staging).Reason);
        Assert.Equal(FormatErrorReason.Incomplete, Refused(Path.Combine(staging, "model.safetensors")).Reason);

        var folder = Path.Combine(_dir, "half");
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, "model.safetensors.tmp-1a2b3c4d");
        File.Copy(TestPaths.Fixture("hf-gpt2-tiny", "model.safetensors"), temp);
        Assert.Equal(FormatErrorReason.Incomplete, Refused(temp).Reason);
        Refused(folder); // no reader takes a folder holding only a temp file
    }

    [Fact]
    public void A_training_step_without_its_commit_marker_is_neither_resumed_nor_read()
    {
        var root = Path.Combine(_dir, "checkpoints");
        var uncommitted = Copy("hf-gpt2-tiny", Path.Combine("checkpoints", "step-4"));
        var committing = Copy("hf-gpt2-tiny", Path.Combine("checkpoints", $"step-5.tmp-{Guid.NewGuid():N}"));
        Assert.Null(new CheckpointDirectory(root).Newest());
        Assert.Equal(FormatErrorReason.Incomplete, Refused(committing).Reason);
        Assert.True(Directory.Exists(uncommitted));
    }
}
