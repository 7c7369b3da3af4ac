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

    [Fact]
    public void Layout_of_a_set_shows_each_members_file_with_its_tensors_under_the_member_name()
    {
        var (code, stdout, err) = CliRunner.Run("layout", Trajectory, "--json");

        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(stdout);
        var files = doc.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetString()).ToArray();
        Assert.Equal(16, files.Length);
        Assert.Equal("step-0025.safetensors", files[0]);
        var names = doc.RootElement.GetProperty("tensors").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).ToArray();
        using var one = Checkpoint.Open(Path.Combine(Trajectory, "step-0400.safetensors"));
        Assert.Equal(16 * one.Manifest.Tensors.Count, doc.RootElement.GetProperty("tensorCount").GetInt32());
        Assert.Contains(names, n => n.StartsWith("step-0025/", StringComparison.Ordinal));
    }

    [Fact]
    public void Diff_of_a_set_against_one_member_pairs_every_member_with_it_giving_the_numbers_of_the_one_to_one_diff()
    {
        var last = Path.Combine(Trajectory, "step-0400.safetensors");
        var (code, stdout, err) = CliRunner.Run("diff", Trajectory, last, "--json");
        var (code1, stdout1, err1) = CliRunner.Run("diff", Path.Combine(Trajectory, "step-0025.safetensors"), last, "--json");

        Assert.True(code == 0, err);
        Assert.True(code1 == 0, err1);
        using var set = JsonDocument.Parse(stdout);
        using var pair = JsonDocument.Parse(stdout1);
        Assert.Equal(0, set.RootElement.GetProperty("added").GetArrayLength());
        Assert.Equal(0, set.RootElement.GetProperty("removed").GetArrayLength());
        var changes = set.RootElement.GetProperty("changes").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("relativeL2").GetDouble());
        var oneToOne = pair.RootElement.GetProperty("changes").EnumerateArray().ToArray();
        Assert.Equal(16 * oneToOne.Length, changes.Count);
        foreach (var c in oneToOne)
        {
            var name = c.GetProperty("name").GetString()!;
            Assert.Equal(c.GetProperty("relativeL2").GetDouble(), changes["step-0025/" + name]);  // the same reads, the same sums
            Assert.Equal(0, changes["step-0400/" + name]);
        }
        Assert.Contains(changes, kv => kv.Key.StartsWith("step-0025/", StringComparison.Ordinal) && kv.Value > 0);
    }

    [Fact]
    public void Diff_of_two_sets_pairs_members_by_name()
    {
        var dir = TestPaths.TempDirectory("set-pair");
        foreach (var name in new[] { "step-0025.safetensors", "step-0050.safetensors" })
            File.Copy(Path.Combine(Trajectory, name), Path.Combine(dir, name));

        var (code, stdout, err) = CliRunner.Run("diff", dir, Trajectory, "--json");

        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(stdout);
        var changes = doc.RootElement.GetProperty("changes").EnumerateArray().ToArray();
        Assert.NotEmpty(changes);
        Assert.All(changes, c => Assert.Equal(0, c.GetProperty("relativeL2").GetDouble()));
        Assert.All(changes, c => Assert.Matches("^step-00(25|50)/", c.GetProperty("name").GetString()));
        using var one = Checkpoint.Open(Path.Combine(Trajectory, "step-0400.safetensors"));
        Assert.Equal(14 * one.Manifest.Tensors.Count, doc.RootElement.GetProperty("added").GetArrayLength());
    }

    [Fact]
    public void Merging_a_set_given_as_one_model_merges_all_its_members()
    {
        var members = Directory.EnumerateFiles(Trajectory, "step-*.safetensors").Order(StringComparer.Ordinal).ToArray();
        var outSet = Path.Combine(TestPaths.TempDirectory("set-merge"), "out");
        var outList = Path.Combine(TestPaths.TempDirectory("list-merge"), "out");
        var (code, _, err) = CliRunner.Run("merge", "--method", "linear", "--model", Trajectory, "--out", outSet);
        var (code1, _, err1) = CliRunner.Run(["merge", "--method", "linear", .. members.SelectMany(m => new[] { "--model", m }), "--out", outList]);

        Assert.True(code == 0, err);
        Assert.True(code1 == 0, err1);
        using var a = Checkpoint.Open(outSet);
        using var b = Checkpoint.Open(outList);
        Assert.Equal(b.Manifest.Tensors.Count, a.Manifest.Tensors.Count);
        foreach (var t in b.Manifest.Tensors)
        {
            using var x = a.Read(t.Name);
            using var y = b.Read(t.Name);
            Assert.True(x.Bytes.SequenceEqual(y.Bytes), t.Name);
        }
    }

    [Fact]
    public void A_set_given_where_one_model_is_needed_by_forward_or_as_a_merge_base_is_refused_naming_the_members()
    {
        var (code, _, err) = CliRunner.Run("forward", Trajectory, "--input-ids", TestPaths.Fixture("peft-lora-llama-tiny", "reference.safetensors"),
            "--out", Path.Combine(TestPaths.TempDirectory("set-forward"), "logits.safetensors"));
        var (code1, _, err1) = CliRunner.Run("merge", "--method", "task-arithmetic", "--model", Path.Combine(Trajectory, "step-0400.safetensors"),
            "--base", Trajectory, "--out", Path.Combine(TestPaths.TempDirectory("set-base"), "out"));

        Assert.Equal(2, code);
        Assert.Equal(2, code1);
        foreach (var e in new[] { err, err1 })
        {
            Assert.Single(e.TrimEnd().Split('\n'));
            Assert.Contains("is a set of 16 checkpoints (step-0025.safetensors … step-0400.safetensors): name one", e);
        }
    }
}
