using System.Text.Json;
using Ckpt.Errors;
using Ckpt.Tests;
using Ckpt.Tests.Fuzzing;

namespace Ckpt.Tests.Attacks;

/// <summary>
/// The hostile corpus in tests/attacks (written by make_attacks.py): pickles that try to run commands,
/// resource bombs, archives and indexes that point outside the checkpoint, lying headers. Each must be
/// refused with one typed reason (or load inert), in under 2 s of CPU, and never create the marker its command would.
/// </summary>
public class HostileCorpusTests
{
    const string Marker = "/tmp/ckpt-attack-marker";
    internal static readonly string Corpus = Path.Combine(TestPaths.RepoRoot, "tests", "attacks");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var key in Expected().Keys) data.Add(key);
        return data;
    }

    internal static Dictionary<string, string[]> Expected() =>
        JsonSerializer.Deserialize<Dictionary<string, string[]>>(File.ReadAllText(Path.Combine(Corpus, "expected.json")))!;

    /// <summary>A file inside a folder attack is opened through its folder, as a user would.</summary>
    internal static string Target(string key)
    {
        var dir = Path.GetDirectoryName(key)!;
        return dir.Contains('/') ? Path.Combine(Corpus, dir) : Path.Combine(Corpus, key);
    }

    internal static (CheckpointFormatException? Error, TimeSpan Cpu) OpenAndReadAll(string path)
    {
        var (error, _, cpu) = OpenAndReadAllNoting(path);
        return (error, cpu);
    }

    /// <summary>
    /// Also says whether the refusal came from opening (headers) or from reading a tensor's bytes. The time is the CPU
    /// time of the thread that did the work (<see cref="FuzzBudget"/>), so a busy machine does not fail the bound.
    /// </summary>
    static (CheckpointFormatException? Error, bool AtOpen, TimeSpan Cpu) OpenAndReadAllNoting(string path)
    {
        bool opened = false;
        var cpu = TimeSpan.Zero;
        var task = Task.Run(() =>
        {
            var started = FuzzBudget.ThreadCpuTime();
            try
            {
                using var ckpt = Checkpoint.Open(path);
                opened = true;
                foreach (var t in ckpt.Manifest.Tensors) using (ckpt.Read(t.Name)) { }
            }
            finally { cpu = FuzzBudget.ThreadCpuTime() - started; }
        });
        var wall = FuzzBudget.UnderLoad.Wall;
        try
        {
            Assert.True(task.Wait(wall), $"{path} did not finish within {wall.TotalSeconds} s");
            return (null, false, cpu);
        }
        catch (AggregateException a) when (a.InnerException is CheckpointFormatException f)
        {
            return (f, !opened, cpu);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void A_hostile_file_is_refused_with_its_reason_quickly_and_runs_nothing(string key)
    {
        File.Delete(Marker);
        var allowed = Expected()[key];
        var (error, cpu) = OpenAndReadAll(Target(key));
        Assert.False(File.Exists(Marker), $"{key} ran a command");
        if (error is null)
            Assert.True(allowed.Contains("load"), $"{key} loaded, but one of {string.Join(", ", allowed)} was expected");
        else
            Assert.True(allowed.Contains(error.Reason.ToString()), $"{key}: {error.Reason} ({error.Message}); expected one of {string.Join(", ", allowed)}");
        Assert.True(cpu < FuzzBudget.UnderLoad.Cpu, $"{key} took {cpu.TotalSeconds:F2} s of CPU");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void The_cli_prints_the_same_one_sentence_reason_and_exits_non_zero(string key)
    {
        var (error, atOpen, _) = OpenAndReadAllNoting(Target(key));
        if (error is null) return;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        // `inspect` reads headers only; a file refused only when its bytes are read (a zstd bomb) goes through
        // `bench load`, which reads every tensor (one at a time, so the first refusal is the one the test met).
        string[] args = atOpen ? ["inspect", Target(key)] : ["bench", "load", Target(key), "--parallelism", "1"];
        int code = Ckpt.Cli.Program.Run(args, stdout, stderr);
        Assert.Equal(2, code);
        Assert.Equal($"ckpt: {error.Message}", stderr.ToString().TrimEnd('\n'));
        Assert.DoesNotContain("\n", error.Message);
    }

    public static TheoryData<string> EscapingFiles()
    {
        var data = new TheoryData<string>();
        foreach (var (key, reasons) in Expected())
            if (reasons.SequenceEqual([nameof(FormatErrorReason.PathEscapesCheckpoint)])) data.Add(key);
        return data;
    }

    [Theory]
    [MemberData(nameof(EscapingFiles))]
    public void A_path_leaving_the_checkpoint_is_named_as_written_in_a_file_named_relative_to_the_checkpoint(string key)
    {
        var (error, _) = OpenAndReadAll(Target(key));
        Assert.Equal(FormatErrorReason.PathEscapesCheckpoint, error?.Reason);
        Assert.StartsWith($"{Path.GetFileName(key)}: tensor '", error!.Message);
        Assert.Matches(@"names '[^']+', which resolves outside the checkpoint folder", error.Message);
        Assert.DoesNotContain(TestPaths.RepoRoot, error.Message);
    }

    [Fact]
    public void A_symlink_leading_out_of_the_checkpoint_folder_is_refused()
    {
        var dir = TestPaths.TempDirectory("attack-symlink");
        var outside = TestPaths.TempDirectory("attack-outside");
        File.Copy(TestPaths.Fixture("hf-gpt2-tiny", "model.safetensors"), Path.Combine(outside, "secret.safetensors"));
        File.CreateSymbolicLink(Path.Combine(dir, "model-00001-of-00001.safetensors"), Path.Combine(outside, "secret.safetensors"));
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
            "{\"weight_map\":{\"transformer.wte.weight\":\"model-00001-of-00001.safetensors\"}}");
        var (error, _) = OpenAndReadAll(dir);
        Assert.Equal(FormatErrorReason.PathEscapesCheckpoint, error?.Reason);
        Assert.Equal("model.safetensors.index.json: tensor 'transformer.wte.weight': weight_map names 'model-00001-of-00001.safetensors', " +
            "which resolves outside the checkpoint folder [PathEscapesCheckpoint].", error!.Message);

        var linkedDir = TestPaths.TempDirectory("attack-dirlink");
        Directory.CreateSymbolicLink(Path.Combine(linkedDir, "shards"), outside);
        File.WriteAllText(Path.Combine(linkedDir, "model.safetensors.index.json"),
            "{\"weight_map\":{\"transformer.wte.weight\":\"shards/secret.safetensors\"}}");
        (error, _) = OpenAndReadAll(linkedDir);
        Assert.Equal(FormatErrorReason.PathEscapesCheckpoint, error?.Reason);
        Assert.Contains("weight_map names 'shards/secret.safetensors'", error!.Message);
        foreach (var machineFolder in new[] { dir, outside, linkedDir, Path.GetTempPath().TrimEnd('/') })
            Assert.DoesNotContain(machineFolder, error.Message);
    }
}
