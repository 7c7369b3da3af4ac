using Ckpt.Tests.Cli;
using Ckpt.Tests.Training;

namespace Ckpt.Tests.Outputs;

/// <summary>
/// The data-safety suite: for every `ckpt` command that writes, a user's files are never changed or deleted. Inputs
/// are copies of the fixtures, so a failure here can never damage the repository.
/// </summary>
public sealed class OutputSafetyTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("output-safety");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Commands that write a folder.</summary>
    public static TheoryData<string> FolderCommands => new() { "convert", "convert-dcp", "convert-torch", "reshard", "merge", "lcsc", "bench-generate", "finetune" };

    /// <summary>Commands that write one file.</summary>
    public static TheoryData<string> FileCommands => new() { "layout-html", "diff-html", "forward" };

    /// <summary>A fixture copied under the test's folder (once), or a file inside it.</summary>
    string In(string fixture, string? file = null)
    {
        var copy = Path.Combine(_dir, "in", fixture);
        if (!Directory.Exists(copy))
        {
            var source = TestPaths.Fixture(fixture);
            foreach (var f in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            {
                var to = Path.Combine(copy, Path.GetRelativePath(source, f));
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(f, to);
            }
        }
        return file is null ? copy : Path.Combine(copy, file);
    }

    /// <summary>The input whose overlap with the output each command must refuse (null: the command reads none).</summary>
    string? MainInput(string command) => command switch
    {
        "convert" or "convert-dcp" or "convert-torch" or "layout-html" => In("hf-gpt2-tiny"),
        "reshard" => In("dcp-dtensor1d-4rank"),
        "merge" or "lcsc" or "diff-html" => In("trajectory-llama-micro", "step-0300.safetensors"),
        "finetune" or "forward" => In("hf-llama-tiny-sharded"),
        _ => null,
    };

    string[] Args(string command, string output)
    {
        var trajectory = (string step) => In("trajectory-llama-micro", $"step-{step}.safetensors");
        return command switch
        {
            "convert" => ["convert", In("hf-gpt2-tiny"), "--out", output],
            "convert-dcp" => ["convert", In("hf-gpt2-tiny"), "--to", "dcp", "--out", output],
            "convert-torch" => ["convert", In("hf-gpt2-tiny"), "--to", "torch", "--out", output],
            "reshard" => ["reshard", In("dcp-dtensor1d-4rank"), "--world-size", "2", "--out", output],
            "merge" => ["merge", "--method", "linear", "--model", trajectory("0300"), "--model", trajectory("0325"), "--out", output],
            "lcsc" => ["lcsc", $"{trajectory("0300")},{trajectory("0325")}", "--eval", "mse:" + trajectory("0400"), "--budget", "3", "--out", output],
            "bench-generate" => ["bench", "generate", "--size", "1MB", "--shards", "2", "--hidden", "128", "--out", output],
            "finetune" => ["finetune", "--recipe", "dpo", "--model", In("hf-llama-tiny-sharded"), "--data", Data(), "--steps", "1", "--batch", "2",
                "--lora-r", "4", "--threads", "1", "--out", output],
            "layout-html" => ["layout", In("hf-gpt2-tiny"), "--html", output],
            "diff-html" => ["diff", trajectory("0300"), trajectory("0325"), "--html", output],
            "forward" => ["forward", In("hf-llama-tiny-sharded"), "--input-ids", In("hf-llama-tiny-sharded", "reference_logits.safetensors"), "--out", output],
            _ => throw new ArgumentOutOfRangeException(nameof(command)),
        };
    }

    string Data()
    {
        var path = Path.Combine(_dir, "data", "pairs.jsonl");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            FineTuningFixtures.PreferenceIds(path, 4);
        }
        return path;
    }

    static (int Code, string Out, string Err) Run(string[] args, params string[] extra) => CliRunner.Run([.. args, .. extra]);

    static void AssertRefusedInOneLine((int Code, string Out, string Err) run, string because)
    {
        Assert.True(run.Code == 2, $"{because}: exit {run.Code}, stderr {run.Err}");
        var lines = run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("ckpt: ", lines[0]);
        Assert.DoesNotContain("Exception", lines[0]);
    }

    /// <summary>Hashes of every input the command may read (all copied fixtures and the data).</summary>
    SortedDictionary<string, string> Inputs() => FolderHashes.Of(Path.Combine(_dir, "in"));

    [Theory, MemberData(nameof(FolderCommands))]
    public void An_out_holding_foreign_files_survives_byte_for_byte_with_and_without_overwrite(string command)
    {
        var output = Path.Combine(_dir, "out");
        Directory.CreateDirectory(Path.Combine(output, "sub"));
        File.WriteAllText(Path.Combine(output, "notes.txt"), "the user's notes");
        File.WriteAllBytes(Path.Combine(output, "sub", "model.safetensors"), [1, 2, 3]);
        File.WriteAllText(Path.Combine(output, "config.json"), "{\"mine\": true}");
        var before = FolderHashes.Of(output);
        Args(command, output); // copies the inputs
        var inputs = Inputs();

        AssertRefusedInOneLine(Run(Args(command, output)), command);
        AssertRefusedInOneLine(Run(Args(command, output), "--overwrite"), command + " --overwrite");

        Assert.Equal(before, FolderHashes.Of(output));
        Assert.Equal(inputs, Inputs());
        Assert.Empty(FolderHashes.StagingBeside(output));
    }

    [Theory, MemberData(nameof(FolderCommands))]
    public void An_output_ckpt_wrote_is_replaced_only_with_overwrite_and_the_inputs_never_change(string command)
    {
        var output = Path.Combine(_dir, "out");
        Args(command, output); // copies the inputs
        var inputs = Inputs();

        var first = Run(Args(command, output));
        Assert.True(first.Code == 0, first.Err);
        var written = FolderHashes.Of(output);
        AssertRefusedInOneLine(Run(Args(command, output)), "a second run without --overwrite");
        Assert.Equal(written, FolderHashes.Of(output));

        var again = Run(Args(command, output), "--overwrite");
        Assert.True(again.Code == 0, again.Err);
        Assert.True(File.Exists(Path.Combine(output, ".ckpt-output.json")));
        Assert.Equal(inputs, Inputs());
        Assert.Empty(FolderHashes.StagingBeside(output));

        // One file the user adds makes it theirs: --overwrite refuses it from then on.
        File.WriteAllText(Path.Combine(output, "README.md"), "my notes on this run");
        var mine = FolderHashes.Of(output);
        AssertRefusedInOneLine(Run(Args(command, output), "--overwrite"), "--overwrite of a folder with the user's file");
        Assert.Equal(mine, FolderHashes.Of(output));
    }

    [Theory, MemberData(nameof(FolderCommands))]
    [MemberData(nameof(FileCommands))]
    public void An_out_equal_to_inside_or_containing_an_input_is_refused_and_the_input_is_unchanged(string command)
    {
        if (MainInput(command) is not { } input) return;
        var inputs = Inputs();
        foreach (var output in new[] { input, Path.Combine(input, "converted"), Path.GetDirectoryName(input)! })
        {
            AssertRefusedInOneLine(Run(Args(command, output)), $"{command} --out {output}");
            AssertRefusedInOneLine(Run(Args(command, output), "--overwrite"), $"{command} --out {output} --overwrite");
        }
        Assert.Equal(inputs, Inputs());
    }

    [Theory, MemberData(nameof(FolderCommands))]
    public void A_file_or_a_path_under_a_file_as_out_is_refused_in_one_line(string command)
    {
        var file = Path.Combine(_dir, "taken.txt");
        File.WriteAllText(file, "not a folder");
        AssertRefusedInOneLine(Run(Args(command, file)), "a file as --out");
        AssertRefusedInOneLine(Run(Args(command, file), "--overwrite"), "a file as --out with --overwrite");
        AssertRefusedInOneLine(Run(Args(command, Path.Combine(file, "out"))), "--out under a file");
        Assert.Equal("not a folder", File.ReadAllText(file));
    }

    [Theory, MemberData(nameof(FileCommands))]
    public void A_file_output_refuses_a_folder_and_replaces_an_existing_file_only_with_overwrite(string command)
    {
        var folder = Path.Combine(_dir, "a-folder");
        Directory.CreateDirectory(folder);
        AssertRefusedInOneLine(Run(Args(command, folder)), "a folder as the output file");
        var file = Path.Combine(_dir, "taken.txt");
        File.WriteAllText(file, "not a folder");
        AssertRefusedInOneLine(Run(Args(command, Path.Combine(file, "report.out"))), "an output under a file");

        var output = Path.Combine(_dir, "report.out");
        File.WriteAllText(output, "the user's file");
        AssertRefusedInOneLine(Run(Args(command, output)), "an existing file without --overwrite");
        Assert.Equal("the user's file", File.ReadAllText(output));

        var replaced = Run(Args(command, output), "--overwrite");
        Assert.True(replaced.Code == 0, replaced.Err);
        Assert.NotEqual("the user's file", File.ReadAllText(output));
        Assert.Empty(Directory.EnumerateFiles(_dir, "report.out.tmp-*"));
    }

    [Fact]
    public void A_finetune_run_folder_is_continued_by_resume_which_removes_a_killed_adapter_write_but_refuses_a_foreign_folder()
    {
        var output = Path.Combine(_dir, "run");
        var args = Args("finetune", output);
        var first = Run(args, "--save-every", "1");
        Assert.True(first.Code == 0, first.Err);
        var killedWrite = Path.Combine(output, "adapter_model.safetensors.tmp-1a2b3c4d");
        File.WriteAllBytes(killedWrite, [0, 1, 2]); // what a run killed during its final adapter write leaves

        var twoSteps = args.ToArray();
        twoSteps[Array.IndexOf(twoSteps, "--steps") + 1] = "2";
        var resumed = Run(twoSteps, "--resume");
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.False(File.Exists(killedWrite));
        Assert.True(File.Exists(Path.Combine(output, "adapter_model.safetensors")));

        File.WriteAllText(Path.Combine(output, "notes.txt"), "mine");
        var before = FolderHashes.Of(output);
        AssertRefusedInOneLine(Run(args, "--resume"), "--resume into a folder holding the user's file");
        Assert.Equal(before, FolderHashes.Of(output));
    }
}
