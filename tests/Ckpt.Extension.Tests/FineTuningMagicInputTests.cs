namespace Ckpt.Extension.Tests;

/// <summary>
/// `#!ckpt-finetune` refusing bad input in one sentence, before any model is read. This project has no LibTorch (as a
/// notebook before it references one), so a valid request also ends in one sentence saying how to get it; the runs
/// themselves are tested in Ckpt.Extension.Training.Tests.
/// </summary>
public sealed class FineTuningMagicInputTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _dir = Directory.CreateTempSubdirectory("ckpt-finetune-input-").FullName;

    static string TinyLlama => TestPaths.Fixture("hf-llama-tiny-sharded");

    public void Dispose()
    {
        _harness.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    string Data()
    {
        var path = Path.Combine(_dir, "ids.jsonl");
        File.WriteAllText(path, "{\"prompt_input_ids\":[1,10,20,3],\"completion_input_ids\":[110,160,2]}\n");
        return path;
    }

    Task<string> FailureOf(string code) => _harness.FailureOfAsync(code);

    [Fact]
    public async Task Finetune_magic_refuses_an_out_holding_the_users_files_with_the_cli_sentence()
    {
        var output = Path.Combine(_dir, "mine");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "notes.txt"), "the user's notes");
        foreach (var flags in new[] { "", " --overwrite", " --resume" })
        {
            var expected = Assert.Throws<Ckpt.Errors.CheckpointFormatException>(() =>
                Ckpt.Outputs.RunFolder.Check(output, [], flags.Contains("resume"), flags.Contains("overwrite"))).Message;
            var message = await FailureOf($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{Data()}\" --steps 1 --out \"{output}\"{flags}");
            Assert.Equal(expected, message);
        }
        Assert.Equal(["notes.txt"], Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Finetune_magic_with_a_missing_data_file_fails_with_one_sentence_naming_it()
    {
        var missing = Path.Combine(_dir, "nowhere.jsonl");
        var message = await FailureOf($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{missing}\" --steps 2");
        Assert.Contains("nowhere.jsonl", message);
        Assert.Contains("does not exist", message);
    }

    [Fact]
    public async Task Finetune_magic_with_a_missing_chat_template_file_fails_with_one_sentence_naming_it()
    {
        var missing = Path.Combine(_dir, "missing.jinja");
        var message = await FailureOf($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{Data()}\" --chat-template \"{missing}\" --steps 2");
        Assert.Equal($"chat template file {missing} does not exist", message.Trim());
    }

    [Fact]
    public async Task Finetune_magic_with_an_unknown_recipe_fails_with_one_sentence_naming_it()
    {
        var message = await FailureOf($"#!ckpt-finetune --recipe ppo --model \"{TinyLlama}\" --data \"{Data()}\" --steps 2");
        Assert.Contains("'ppo'", message);
        Assert.Contains("sft, dpo, ga, kl or npo", message);
    }

    [Fact]
    public async Task Finetune_magic_with_an_unknown_schedule_or_a_bad_warmup_ratio_fails_with_one_sentence_naming_it()
    {
        var message = await FailureOf($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{Data()}\" --steps 2 --lr-scheduler step");
        Assert.Equal("--lr-scheduler must be constant, linear or cosine, not 'step'", message.Trim());
        var ratio = await FailureOf($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{Data()}\" --steps 2 --lr-scheduler cosine --warmup-ratio 1.5");
        Assert.Contains("--warmup-ratio 1.5 is outside [0, 1)", ratio);
    }

    [Fact]
    public async Task Finetune_magic_with_both_steps_and_epochs_fails_with_one_sentence()
    {
        var message = await FailureOf($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{Data()}\" --steps 2 --epochs 1");
        Assert.Contains("exactly one of --steps and --epochs", message);
    }

    [Fact]
    public async Task Finetune_magic_with_packing_for_dpo_fails_with_one_sentence_before_any_model_is_read()
    {
        var pairs = Path.Combine(_dir, "pairs.jsonl");
        File.WriteAllText(pairs, "{\"prompt_input_ids\":[1,10,3],\"chosen_input_ids\":[11,2],\"rejected_input_ids\":[12,2]}\n");
        var message = await FailureOf($"#!ckpt-finetune --recipe dpo --model \"{TinyLlama}\" --data \"{pairs}\" --packing --steps 2 --out \"{Path.Combine(_dir, "out")}\"");
        Assert.Equal("--packing is for SFT only: DPO scores each chosen and rejected completion in its own row against the same prompt, so its pairs are not packed", message.Trim());
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    string Pairs()
    {
        var path = Path.Combine(_dir, "pairs.jsonl");
        File.WriteAllText(path, "{\"prompt_input_ids\":[1,10,3],\"chosen_input_ids\":[11,2],\"rejected_input_ids\":[12,2]}\n");
        return path;
    }

    [Fact]
    public async Task Finetune_magic_with_an_unknown_dpo_loss_fails_with_one_sentence_naming_it_and_the_accepted_ones()
    {
        var message = await FailureOf($"#!ckpt-finetune --recipe dpo --model \"{TinyLlama}\" --data \"{Pairs()}\" --steps 2 --dpo-loss kto");
        Assert.Equal("--dpo-loss must be sigmoid, ipo, hinge or robust, not 'kto'", message.Trim());
    }

    [Theory]
    [InlineData("--label-smoothing 0.7", "--label-smoothing 0.7 is outside [0, 0.5]")]
    [InlineData("--dpo-loss Hinge --label-smoothing 0.1", "--label-smoothing is for the sigmoid and robust losses, not hinge (TRL ignores it there with a warning)")]
    [InlineData("--dpo-loss robust --label-smoothing 0.5", "--label-smoothing must be below 0.5 for the robust loss, which divides by 1 - 2ε")]
    public async Task Finetune_magic_with_label_smoothing_out_of_range_or_for_another_loss_fails_with_one_sentence_before_any_model_is_read(string options, string expected)
    {
        var message = await FailureOf($"#!ckpt-finetune --recipe dpo --model \"{TinyLlama}\" --data \"{Pairs()}\" --steps 2 {options} --out \"{Path.Combine(_dir, "out")}\"");
        Assert.Equal(expected, message.Trim());
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    [Fact]
    public async Task Finetune_magic_with_a_valid_dpo_loss_and_label_smoothing_gets_as_far_as_libtorch()
    {
        var message = await FailureOf($"#!ckpt-finetune --recipe dpo --model \"{TinyLlama}\" --data \"{Pairs()}\" --steps 2 --dpo-loss robust --label-smoothing 0.2 --out \"{Path.Combine(_dir, "out")}\"");
        Assert.Contains("LibTorch", message);
    }

    [Fact]
    public async Task Finetune_magic_naming_an_unbound_variable_as_model_fails_with_one_sentence()
    {
        var message = await FailureOf($"#!ckpt-finetune --recipe sft --model notLoaded --data \"{Data()}\" --steps 2");
        Assert.Contains("notLoaded", message);
    }

    [Fact]
    public async Task Finetune_magic_where_LibTorch_is_absent_says_so_in_one_sentence()
    {
        var message = await FailureOf($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{Data()}\" --steps 2 --out \"{Path.Combine(_dir, "out")}\"");
        Assert.Contains("LibTorch", message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }
}
