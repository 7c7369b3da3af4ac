using System.Text.Json;
using Ckpt.Errors;
using Ckpt.Tests.Cli;

namespace Ckpt.Tests.Formats;

/// <summary>A folder of several unindexed checkpoints is a set: listed by `inspect`, refused by name where one model is needed.</summary>
public class CheckpointSetTests
{
    static string Trajectory => TestPaths.Fixture("trajectory-llama-micro");

    [Fact]
    public void Opening_a_trajectory_folder_as_one_checkpoint_is_refused_naming_its_sixteen_members()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Trajectory));
        Assert.Equal(FormatErrorReason.CheckpointSet, e.Reason);
        Assert.Contains("is a set of 16 checkpoints (step-0025.safetensors … step-0400.safetensors): name one", e.Message);
    }

    [Fact]
    public void Sixteen_safetensors_checkpoints_and_one_eval_batch_pt_are_never_read_as_that_torch_save_file()
    {
        var dir = TestPaths.TempDirectory("set-eval-batch");
        foreach (var f in Directory.EnumerateFiles(Trajectory, "step-*.safetensors").Append(Path.Combine(Trajectory, "eval_batch.pt")))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));

        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));

        Assert.Equal(FormatErrorReason.CheckpointSet, e.Reason);
        var set = CheckpointSet.Open(dir);
        Assert.Equal(16, set.Members.Count);
        Assert.Equal(["eval_batch.pt"], set.LeftOut);
    }

    [Fact]
    public void A_set_lists_each_member_with_its_step_tensor_count_dtypes_and_size()
    {
        var set = CheckpointSet.TryOpen(Trajectory)!;

        Assert.Equal(Enumerable.Range(1, 16).Select(i => (long?)(25 * i)), set.Members.Select(m => m.Step));
        using var last = Checkpoint.Open(Path.Combine(Trajectory, "step-0400.safetensors"));
        var m = set.Members[^1];
        Assert.Equal(("step-0400.safetensors", "safetensors", last.Manifest.Tensors.Count, last.Manifest.ParameterCount, last.Manifest.TotalBytes),
            (m.Name, m.Format, m.TensorCount, m.Parameters, m.Bytes));
        Assert.Equal(last.Manifest.ParametersByDType, m.ParametersByDType);
        Assert.Equal(["eval_batch.pt", "eval_batch.safetensors"], set.LeftOut);
    }

    [Fact]
    public void One_checkpoint_file_is_not_a_set()
    {
        Assert.Null(CheckpointSet.TryOpen(Path.Combine(Trajectory, "step-0400.safetensors")));
        Assert.Null(CheckpointSet.TryOpen(TestPaths.Fixture("hf-llama-tiny-sharded")));
    }

    [Fact]
    public void A_folder_with_one_checkpoint_and_an_eval_batch_opens_as_that_checkpoint_naming_what_it_left_out()
    {
        var dir = TestPaths.TempDirectory("set-of-one");
        File.Copy(Path.Combine(Trajectory, "step-0400.safetensors"), Path.Combine(dir, "step-0400.safetensors"));
        File.Copy(Path.Combine(Trajectory, "eval_batch.pt"), Path.Combine(dir, "eval_batch.pt"));
        File.Copy(Path.Combine(Trajectory, "eval_batch.safetensors"), Path.Combine(dir, "eval_batch.safetensors"));

        using var ckpt = Checkpoint.Open(dir);

        Assert.Equal("safetensors", ckpt.Manifest.Format);
        Assert.Equal("eval_batch.pt, eval_batch.safetensors", ckpt.Manifest.Metadata["set.left_out"]);
    }

    [Fact]
    public void Inspect_lists_the_members_in_text_and_json()
    {
        var text = CliRunner.Run("inspect", Trajectory);
        var json = CliRunner.Run("inspect", Trajectory, "--json");

        Assert.Equal((0, 0), (text.Code, json.Code));
        Assert.Contains("set: a set of 16 checkpoints", text.Out);
        Assert.Contains("step-0250.safetensors", text.Out);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal("set", doc.RootElement.GetProperty("format").GetString());
        Assert.Equal(16, doc.RootElement.GetProperty("members").GetArrayLength());
        Assert.Equal(400, doc.RootElement.GetProperty("members")[15].GetProperty("step").GetInt64());
    }

    [Fact]
    public void A_command_that_needs_one_model_given_a_set_fails_in_one_sentence_naming_the_members()
    {
        var (code, _, err) = CliRunner.Run("convert", Trajectory, "--out", Path.Combine(TestPaths.TempDirectory("set-convert"), "out"));

        Assert.Equal(2, code);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.Contains("is a set of 16 checkpoints (step-0025.safetensors … step-0400.safetensors): name one", err);
    }
}
