using Ckpt.Errors;
using Ckpt.Models;
using Ckpt.Resilience;
using Ckpt.Training;
using Ckpt.Training.Data;

namespace Ckpt.Tests.Attacks;

/// <summary>
/// A FIFO, socket, device or symlink loop where a checkpoint file should be: opening a FIFO blocks until a writer comes
/// (forever), /dev/zero never ends, a socket or a loop fails with an OS error. Each is refused with its typed reason,
/// quickly, without being opened; a folder linked elsewhere (as Hugging Face cache snapshots are) still opens.
/// </summary>
public class SpecialFileTests
{
    static CheckpointFormatException Refusal(string path)
    {
        var (error, cpu) = HostileCorpusTests.OpenAndReadAll(path); // fails, rather than hangs, after a generous wall limit
        Assert.True(cpu < TimeSpan.FromSeconds(2), $"{cpu.TotalSeconds:F2} s of CPU");
        return error ?? throw new Xunit.Sdk.XunitException($"{path} loaded");
    }

    [Theory]
    [InlineData("dcp-fsdp2-4rank", ".metadata")]
    [InlineData("hf-llama-tiny-sharded", "config.json")]
    [InlineData("hf-llama-tiny-sharded", "model.safetensors.index.json")]
    [InlineData("hf-llama-tiny-sharded", "model-00001-of-00006.safetensors")]
    [InlineData("hf-llama-tiny-bin", "pytorch_model-00001-of-00003.bin")]
    public void A_fifo_in_place_of_a_checkpoint_file_is_refused_as_not_a_regular_file_without_blocking(string fixture, string file)
    {
        var dir = SpecialFiles.CopyOf(fixture);
        SpecialFiles.Fifo(Path.Combine(dir, file));
        var error = Refusal(dir);
        Assert.Equal(FormatErrorReason.NotARegularFile, error.Reason);
        Assert.Equal($"{file}: the path is not a regular file, so it is not opened (expected a regular file, found a named pipe (FIFO)) [NotARegularFile].", error.Message);
    }

    [Fact]
    public void A_fifo_named_on_the_command_line_is_refused_naming_the_path_as_given()
    {
        var fifo = SpecialFiles.Fifo(Path.Combine(TestPaths.TempDirectory("fifo"), "model.safetensors"));
        var error = Refusal(fifo);
        Assert.Equal(FormatErrorReason.NotARegularFile, error.Reason);
        Assert.StartsWith($"{fifo}: ", error.Message);
    }

    [Fact]
    public void A_socket_and_a_character_device_are_refused_as_not_regular_files()
    {
        var dir = SpecialFiles.CopyOf("hf-gpt2-tiny");
        using (SpecialFiles.Socket(Path.Combine(dir, "model.safetensors")))
            Assert.Contains("found a socket", Refusal(dir).Message);
        var device = Refusal("/dev/zero");
        Assert.Equal(FormatErrorReason.NotARegularFile, device.Reason);
        Assert.Contains("found a character device", device.Message);
    }

    [Fact]
    public void A_symlink_loop_is_refused_as_a_loop_whether_named_directly_or_by_an_index()
    {
        var dir = TestPaths.TempDirectory("loop");
        var direct = Refusal(SpecialFiles.LinkLoop(Path.Combine(dir, "model.safetensors")));
        Assert.Equal(FormatErrorReason.SymbolicLinkLoop, direct.Reason);

        var sharded = SpecialFiles.CopyOf("hf-llama-tiny-sharded");
        SpecialFiles.LinkLoop(Path.Combine(sharded, "model-00002-of-00006.safetensors"));
        var indexed = Refusal(sharded);
        Assert.Equal(FormatErrorReason.SymbolicLinkLoop, indexed.Reason);
        Assert.StartsWith("model-00002-of-00006.safetensors: ", indexed.Message);

        var looped = TestPaths.TempDirectory("loop-folder");
        Directory.CreateSymbolicLink(Path.Combine(looped, "a"), Path.Combine(looped, "b"));
        Directory.CreateSymbolicLink(Path.Combine(looped, "b"), Path.Combine(looped, "a"));
        Assert.Equal(FormatErrorReason.SymbolicLinkLoop, Refusal(Path.Combine(looped, "a")).Reason);
    }

    [Fact]
    public void A_checkpoint_folder_linked_elsewhere_and_a_shard_linked_to_a_file_inside_it_still_open()
    {
        // Links that stay inside the checkpoint folder; HF cache snapshots link each file to ../../blobs, which the
        // containment rule (A_symlink_leading_out_of_the_checkpoint_folder_is_refused) refuses on purpose.
        var snapshot = SpecialFiles.CopyOf("hf-llama-tiny-sharded");
        var shard = Path.Combine(snapshot, "model-00003-of-00006.safetensors");
        File.Move(shard, Path.Combine(snapshot, "blob-3"));
        File.CreateSymbolicLink(shard, "blob-3");
        var linked = Path.Combine(TestPaths.TempDirectory("linked"), "model");
        Directory.CreateSymbolicLink(linked, snapshot);
        var (error, _) = HostileCorpusTests.OpenAndReadAll(linked);
        Assert.Null(error);
    }

    [Fact]
    public void A_fifo_as_a_config_adapter_config_data_file_or_step_tracker_is_refused_by_its_reader()
    {
        var dir = TestPaths.TempDirectory("fifo-inputs");
        Assert.Equal(FormatErrorReason.NotARegularFile,
            Assert.Throws<CheckpointFormatException>(() => ModelConfig.ReadFile(SpecialFiles.Fifo(Path.Combine(dir, "config.json")))).Reason);
        Assert.Equal(FormatErrorReason.NotARegularFile,
            Assert.Throws<CheckpointFormatException>(() => LoraConfig.Read(SpecialFiles.Fifo(Path.Combine(dir, "adapter_config.json")))).Reason);
        Assert.Equal(FormatErrorReason.NotARegularFile,
            Assert.Throws<CheckpointFormatException>(() => TrainingData.ReadSft(SpecialFiles.Fifo(Path.Combine(dir, "data.jsonl")), null)).Reason);
        SpecialFiles.Fifo(Path.Combine(dir, CheckpointDirectory.TrackerFile));
        Assert.Equal(FormatErrorReason.NotARegularFile,
            Assert.Throws<CheckpointFormatException>(() => new CheckpointDirectory(dir).TrackedStep()).Reason);
    }
}
