using System.Text.Json;
using Ckpt.Tests.Training;

namespace Ckpt.Tests.Cli;

public sealed class FineTuningCommandTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("finetune-cli");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Finetune_with_json_prints_one_line_per_step_then_a_summary_and_writes_the_adapter()
    {
        var data = FineTuningFixtures.PreferenceIds(Path.Combine(_dir, "pairs.jsonl"), 4);
        var outDir = Path.Combine(_dir, "out");
        var (code, stdout, stderr) = CliRunner.Run("finetune", "--recipe", "dpo", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--steps", "3", "--batch", "2", "--lora-r", "4", "--lora-alpha", "8", "--lora-targets", "q_proj,v_proj", "--out", outDir,
            "--save-every", "2", "--threads", "1", "--json");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(4, lines.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(i + 1, lines[i].GetProperty("step").GetDouble());
            foreach (var key in new[] { "loss", "learningRate", "tokensPerSecond" })
                Assert.True(lines[i].TryGetProperty(key, out _), key);
            foreach (var key in new[] { "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins" })
                Assert.True(lines[i].GetProperty("metrics").TryGetProperty(key, out _), key);
        }
        var summary = lines[3];
        Assert.True(summary.GetProperty("done").GetBoolean());
        Assert.Equal(3, summary.GetProperty("stepsCompleted").GetInt32());
        Assert.Equal(2, summary.GetProperty("saves").GetInt32());
        Assert.True(File.Exists(Path.Combine(outDir, "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(outDir, "checkpoints", "step-2", "adapter_config.json")));
    }

    [Fact]
    public void Finetune_without_json_prints_a_summary_and_no_progress_bar_when_not_a_terminal()
    {
        var data = FineTuningFixtures.InstructionIds(Path.Combine(_dir, "ids.jsonl"), 4);
        var (code, stdout, stderr) = CliRunner.Run("finetune", "--recipe", "sft", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--epochs", "1", "--batch", "2", "--out", Path.Combine(_dir, "out"), "--qlora", "--threads", "1", "--eval-data", data);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("\r", stdout);
        Assert.Contains("SFT finished: steps 1-2 of 2", stdout);
        Assert.Matches(@"eval loss\s+\d+\.\d{4}", stdout);
        Assert.Contains("NF4 base", stdout);
    }

    [Fact]
    public void Finetune_with_grad_accum_and_trace_counts_both_micro_batches_and_traces_phases_to_stderr()
    {
        var data = FineTuningFixtures.InstructionIds(Path.Combine(_dir, "ids.jsonl"), 8);
        var (code, stdout, stderr) = CliRunner.Run("finetune", "--recipe", "sft", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--epochs", "1", "--batch", "2", "--grad-accum", "2", "--out", Path.Combine(_dir, "out"), "--threads", "1", "--json", "--trace",
            "--gradient-checkpointing");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines[^1].GetProperty("totalSteps").GetInt32()); // 8 examples / (2 × 2)
        Assert.Contains("step 1: 2 batch(es) of 2 on cpu", stderr);
        Assert.Contains("gradient checkpointing on", stderr);
        Assert.EndsWith("optimizer step", stderr.TrimEnd());
    }

    [Fact]
    public void Finetune_with_a_linear_schedule_and_warmup_ratio_logs_hfs_rates_and_refuses_an_unknown_schedule()
    {
        var data = FineTuningFixtures.InstructionIds(Path.Combine(_dir, "ids.jsonl"), 4);
        var (code, stdout, stderr) = CliRunner.Run("finetune", "--recipe", "sft", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--steps", "4", "--batch", "2", "--lr", "3e-4", "--lr-scheduler", "linear", "--warmup-ratio", "0.25", "--out", Path.Combine(_dir, "out"),
            "--threads", "1", "--json");
        Assert.True(code == 0, stderr);
        var rates = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.TryGetProperty("step", out _)).Select(l => l.GetProperty("learningRate").GetDouble()).ToArray();
        // warm-up ceil(4 × 0.25) = 1 step from 0, then (4 - step) / 3 of the rate.
        double[] expected = [0, 3e-4, 2e-4, 1e-4];
        Assert.Equal(expected.Length, rates.Length);
        for (int i = 0; i < rates.Length; i++) Assert.Equal(expected[i], rates[i], 1e-12);

        var (bad, _, refused) = CliRunner.Run("finetune", "--recipe", "sft", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--steps", "2", "--lr-scheduler", "step", "--out", Path.Combine(_dir, "out2"));
        Assert.Equal(2, bad);
        Assert.Equal("ckpt: --lr-scheduler must be constant, linear or cosine, not 'step'", refused.Trim());
    }

    [Fact]
    public void Finetune_on_a_terminal_draws_the_bar_with_the_tokens_per_second_its_summary_reports()
    {
        var data = FineTuningFixtures.PreferenceIds(Path.Combine(_dir, "pairs.jsonl"), 4);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = global::Ckpt.Cli.Program.Run(["finetune", "--recipe", "dpo", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--steps", "3", "--batch", "2", "--lora-r", "4", "--out", Path.Combine(_dir, "out"), "--threads", "1"],
            stdout, stderr, new global::Ckpt.Cli.Progress.Terminal(120));
        Assert.True(code == 0, stderr.ToString());
        var text = stdout.ToString();
        var lastBar = text[(text.LastIndexOf('\r') + 1)..text.IndexOf('\n', text.LastIndexOf('\r'))];
        Assert.Equal(119, lastBar.Length);
        Assert.Contains("] 100% 3/3 loss ", lastBar);
        var barRate = System.Text.RegularExpressions.Regex.Match(lastBar, @" (\d+) tok/s ").Groups[1].Value;
        var summaryRate = System.Text.RegularExpressions.Regex.Match(text, @"\n  tokens/s +(\d+)\n").Groups[1].Value;
        Assert.NotEqual("", barRate);
        Assert.Equal(summaryRate, barRate);
    }

    [Fact]
    public void Finetune_json_steps_carry_the_running_mean_tokens_per_second_that_the_summary_ends_with()
    {
        var data = FineTuningFixtures.PreferenceIds(Path.Combine(_dir, "pairs.jsonl"), 4);
        var (code, stdout, stderr) = CliRunner.Run("finetune", "--recipe", "dpo", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--steps", "3", "--batch", "2", "--lora-r", "4", "--out", Path.Combine(_dir, "out"), "--threads", "1", "--json");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(lines[^1].GetProperty("meanTokensPerSecond").GetDouble(), lines[^2].GetProperty("meanTokensPerSecond").GetDouble());
        Assert.Equal(lines[0].GetProperty("tokensPerSecond").GetDouble(), lines[0].GetProperty("meanTokensPerSecond").GetDouble(), 6);
    }

    [Fact]
    public void Finetune_with_packing_counts_epochs_in_packed_rows_reports_them_and_evaluates_unpacked()
    {
        var data = FineTuningFixtures.VariedIds(Path.Combine(_dir, "varied.jsonl"), 24);
        var (code, stdout, stderr) = CliRunner.Run("finetune", "--recipe", "sft", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--packing", "--max-length", "128", "--epochs", "1", "--batch", "2", "--lora-r", "4", "--out", Path.Combine(_dir, "out"),
            "--threads", "1", "--eval-data", data, "--json", "--trace");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var summary = lines[^1];
        int rows = summary.GetProperty("packedRows").GetInt32();
        Assert.InRange(rows, 1, 24 / 2);
        int steps = summary.GetProperty("totalSteps").GetInt32();
        Assert.Equal((rows + 1) / 2, steps); // --batch counts rows: ⌈rows / 2⌉ steps per epoch
        Assert.Equal(2.0 * steps / rows, lines[^2].GetProperty("epoch").GetDouble(), 9);
        Assert.True(lines[^2].GetProperty("metrics").GetProperty("eval_loss").GetDouble() > 0);
        Assert.All(lines.SkipLast(1), l => Assert.True(l.GetProperty("paddingTokens").GetDouble() >= 0));
        Assert.Contains($"packing: {rows} rows of at most 128 tokens", stderr);
        Assert.Contains("step 1: 1 batch(es) of 2 packed rows on cpu", stderr);
    }

    [Fact]
    public void Finetune_kl_with_a_retain_set_logs_the_unlearning_metrics_per_step_and_names_the_lora_adapter()
    {
        var forget = FineTuningFixtures.InstructionIds(Path.Combine(_dir, "forget.jsonl"), 4, seed: 1);
        var retain = FineTuningFixtures.InstructionIds(Path.Combine(_dir, "retain.jsonl"), 4, seed: 2);
        var outDir = Path.Combine(_dir, "out");
        var (code, stdout, stderr) = CliRunner.Run("finetune", "--recipe", "kl", "--model", FineTuningFixtures.TinyLlama, "--data", forget,
            "--retain", retain, "--gamma", "0.5", "--steps", "2", "--batch", "2", "--lora-r", "4", "--out", outDir, "--threads", "1", "--json");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, lines.Count);
        foreach (var line in lines.Take(2))
        {
            var metrics = line.GetProperty("metrics");
            double forgetLoss = metrics.GetProperty("forget_loss").GetDouble(), crossEntropy = metrics.GetProperty("retain_cross_entropy").GetDouble();
            Assert.Equal(-forgetLoss + 0.5 * crossEntropy, line.GetProperty("loss").GetDouble(), 4);
            Assert.True(metrics.TryGetProperty("retain_kl", out _));
        }
        Assert.Equal("kl", lines[2].GetProperty("recipe").GetString());
        Assert.Equal(outDir, lines[2].GetProperty("adapter").GetString());
        Assert.True(File.Exists(Path.Combine(outDir, "adapter_model.safetensors")));

        var (refused, _, sentence) = CliRunner.Run("finetune", "--recipe", "kl", "--model", FineTuningFixtures.TinyLlama, "--data", forget,
            "--steps", "1", "--out", Path.Combine(_dir, "other"));
        Assert.Equal(2, refused);
        Assert.Equal("ckpt: --recipe kl needs --retain: its KL term to the starting model is taken on the retain set", sentence.Trim());
    }

    [Fact]
    public void Finetune_with_packing_for_dpo_is_refused_in_one_line_before_any_step()
    {
        var data = FineTuningFixtures.PreferenceIds(Path.Combine(_dir, "pairs.jsonl"), 4);
        var (code, stdout, stderr) = CliRunner.Run("finetune", "--recipe", "dpo", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--packing", "--steps", "1", "--out", Path.Combine(_dir, "out"));
        Assert.Equal(2, code);
        Assert.Equal("ckpt: --packing is for SFT only: DPO scores each chosen and rejected completion in its own row against the same prompt, so its pairs are not packed", stderr.Trim());
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    [Fact]
    public void Finetune_with_dpo_loss_ipo_logs_per_token_logps_and_saves_the_loss_type_with_its_checkpoints()
    {
        var data = FineTuningFixtures.PreferenceIds(Path.Combine(_dir, "pairs.jsonl"), 4);
        IReadOnlyList<JsonElement> Run(string outDir, params string[] extra)
        {
            var (code, stdout, stderr) = CliRunner.Run(["finetune", "--recipe", "dpo", "--model", FineTuningFixtures.TinyLlama, "--data", data,
                "--steps", "1", "--batch", "4", "--lora-r", "4", "--out", Path.Combine(_dir, outDir), "--threads", "1", "--json", .. extra]);
            Assert.True(code == 0, stderr);
            return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        }
        var sigmoid = Run("sigmoid");
        var ipo = Run("ipo", "--dpo-loss", "IPO");
        // The first step scores the pairs before any update: IPO's logps are the summed ones over the 3 chosen tokens,
        // and its loss is (0 − 1/(2β))² = 25 where the sigmoid loss is ln 2.
        Assert.Equal(sigmoid[0].GetProperty("metrics").GetProperty("logps/chosen").GetDouble() / 3, ipo[0].GetProperty("metrics").GetProperty("logps/chosen").GetDouble(), 1e-5);
        Assert.Equal(Math.Log(2), sigmoid[0].GetProperty("loss").GetDouble(), 5);
        Assert.Equal(25, ipo[0].GetProperty("loss").GetDouble(), 4);
        var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "ipo", "checkpoints", "step-1", "trainer_state.json"))).RootElement;
        Assert.Equal("ipo", state.GetProperty("dpo_loss").GetString());
        Assert.Equal("0", state.GetProperty("label_smoothing").GetString());
        var smoothed = Run("robust", "--dpo-loss", "robust", "--label-smoothing", "0.2");
        Assert.Equal(Math.Log(2), smoothed[0].GetProperty("loss").GetDouble(), 5);
        Assert.Equal("0.2", JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "robust", "checkpoints", "step-1", "trainer_state.json"))).RootElement
            .GetProperty("label_smoothing").GetString());
    }

    [Theory]
    [InlineData("--dpo-loss kto", "--dpo-loss must be sigmoid, ipo, hinge or robust, not 'kto'")]
    [InlineData("--label-smoothing 0.7", "--label-smoothing 0.7 is outside [0, 0.5]")]
    [InlineData("--label-smoothing -0.1", "--label-smoothing -0.1 is outside [0, 0.5]")]
    [InlineData("--dpo-loss hinge --label-smoothing 0.1", "--label-smoothing is for the sigmoid and robust losses, not hinge (TRL ignores it there with a warning)")]
    [InlineData("--dpo-loss ipo --label-smoothing 0.1", "--label-smoothing is for the sigmoid and robust losses, not ipo (TRL ignores it there with a warning)")]
    [InlineData("--dpo-loss robust --label-smoothing 0.5", "--label-smoothing must be below 0.5 for the robust loss, which divides by 1 - 2ε")]
    public void Finetune_with_a_bad_dpo_loss_or_label_smoothing_is_refused_in_one_line_before_any_step(string options, string message)
    {
        var data = FineTuningFixtures.PreferenceIds(Path.Combine(_dir, "pairs.jsonl"), 4);
        var (code, stdout, stderr) = CliRunner.Run(["finetune", "--recipe", "dpo", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--steps", "1", "--out", Path.Combine(_dir, "out"), .. options.Split(' ')]);
        Assert.Equal(2, code);
        Assert.Equal($"ckpt: {message}", stderr.Trim());
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    [Fact]
    public void Finetune_with_both_steps_and_epochs_fails_with_one_line()
    {
        var data = FineTuningFixtures.InstructionIds(Path.Combine(_dir, "ids.jsonl"), 2);
        var (code, _, stderr) = CliRunner.Run("finetune", "--recipe", "sft", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--steps", "2", "--epochs", "1", "--out", Path.Combine(_dir, "out"));
        Assert.Equal(2, code);
        Assert.Equal("ckpt: give exactly one of --steps and --epochs", stderr.Trim());
    }

    [Fact]
    public void Finetune_with_token_ids_beyond_the_vocabulary_names_the_file()
    {
        var data = Path.Combine(_dir, "big.jsonl");
        File.WriteAllText(data, """{"prompt_input_ids": [1, 9999], "completion_input_ids": [2]}""" + "\n");
        var (code, _, stderr) = CliRunner.Run("finetune", "--recipe", "sft", "--model", FineTuningFixtures.TinyLlama, "--data", data,
            "--steps", "1", "--out", Path.Combine(_dir, "out"));
        Assert.Equal(2, code);
        Assert.Contains("big.jsonl has token id 9999", stderr);
    }
}
