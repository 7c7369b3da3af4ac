using System.Text.Json;
using Ckpt.Tests.Merging;

namespace Ckpt.Tests.Cli;

/// <summary>`ckpt lcsc`, run in-process.</summary>
public class LcscCommandTests
{
    static string Folder => TestPaths.Fixture("trajectory-llama-micro");
    static string Eval => "eval-loss:" + Path.Combine(Folder, "eval_batch.safetensors");

    static JsonElement Json(string stdout) => JsonDocument.Parse(stdout).RootElement;

    static double[] Coefficients(JsonElement result) => result.GetProperty("coefficients").EnumerateArray().Select(c => c.GetDouble()).ToArray();

    [Trait("Category", "slow")]
    [Fact]
    public void Ckpt_lcsc_with_the_same_seed_gives_the_same_result_and_another_seed_another()
    {
        var a = CliRunner.Run("lcsc", Folder, "--last", "3", "--eval", Eval, "--budget", "12", "--seed", "7", "--json");
        var b = CliRunner.Run("lcsc", Folder, "--last", "3", "--eval", Eval, "--budget", "12", "--seed", "7", "--json");
        var c = CliRunner.Run("lcsc", Folder, "--last", "3", "--eval", Eval, "--budget", "12", "--seed", "8", "--json");
        Assert.Equal((0, ""), (a.Code, a.Err));
        Assert.Equal(0, c.Code);
        var (ja, jb, jc) = (Json(a.Out), Json(b.Out), Json(c.Out));
        Assert.Equal(Coefficients(ja), Coefficients(jb));
        Assert.Equal(ja.GetProperty("metric").GetDouble(), jb.GetProperty("metric").GetDouble());
        Assert.NotEqual(Coefficients(ja), Coefficients(jc));
        Assert.Equal(12, ja.GetProperty("evaluations").GetInt32());
        Assert.Equal(3, ja.GetProperty("checkpoints").GetArrayLength());
        // The uniform start is evaluated first, and the best is never worse than it.
        var history = ja.GetProperty("history");
        Assert.All(history[0].GetProperty("coefficients").EnumerateArray(), x => Assert.Equal(1.0 / 3, x.GetDouble(), 12));
        Assert.True(ja.GetProperty("metric").GetDouble() <= history[0].GetProperty("metric").GetDouble());
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Ckpt_lcsc_writes_the_best_combination_and_its_search_log()
    {
        using var dir = new TempDirectory();
        var (code, stdout, err) = CliRunner.Run("lcsc", Path.Combine(Folder, "step-03*.safetensors"), "--eval", Eval, "--budget", "8", "--out", dir.Path);
        Assert.Equal((0, ""), (code, err));
        Assert.Contains("best eval loss on eval_batch.safetensors", stdout);
        var log = Json(File.ReadAllText(Path.Combine(dir.Path, "lcsc_log.json")));
        Assert.Equal(4, log.GetProperty("checkpoints").GetArrayLength());
        Assert.Equal(8, log.GetProperty("history").GetArrayLength());
        using var combined = Checkpoint.Open(dir.Path);
        Assert.Equal(21, combined.Manifest.Tensors.Count);
        Assert.True(File.Exists(Path.Combine(dir.Path, "config.json")));
    }

    [Fact]
    public void Ckpt_lcsc_with_an_unknown_metric_exits_2_and_names_it()
    {
        var (code, stdout, err) = CliRunner.Run("lcsc", Folder, "--eval", "accuracy:x", "--budget", "5");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("accuracy:x", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void Ckpt_lcsc_without_token_ids_in_the_batch_names_the_key_it_looked_for()
    {
        var (code, _, err) = CliRunner.Run("lcsc", Folder, "--last", "2", "--eval", "eval-loss:" + Path.Combine(Folder, "step-0400.safetensors"), "--budget", "2");
        Assert.Equal(2, code);
        Assert.Contains("input_ids", err);
    }
}
