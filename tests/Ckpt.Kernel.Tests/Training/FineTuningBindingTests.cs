using Ckpt.Training;
using Ckpt.Training.Data;

namespace Ckpt.Tests.Training;

/// <summary>
/// `ckpt finetune` and `#!ckpt-finetune` bind their raw values straight into <see cref="FineTuningOptions"/> through
/// <see cref="FineTuningVerb.Bind"/>: the spellings both accept and the sentences both refuse with.
/// </summary>
public sealed class FineTuningBindingTests
{
    /// <summary>The values a surface collected: the required options, then <paramref name="more"/> as name, value pairs.</summary>
    static FineTuningOptions Bind(string recipe = "sft", params string[] more)
    {
        var given = new Dictionary<string, IReadOnlyList<string>> { ["--recipe"] = [recipe], ["--model"] = ["m"], ["--data"] = ["d.jsonl"] };
        for (int i = 0; i < more.Length; i += 2) given[more[i]] = [more[i + 1]];
        return FineTuningVerb.Bind(given);
    }

    [Fact]
    public void Options_bound_from_only_the_required_values_have_the_defaults_of_FineTuningOptions()
    {
        var bound = Bind();
        var direct = new FineTuningOptions { Recipe = Recipe.Sft, Model = "m", Data = "d.jsonl", Output = FineTuningOptions.DefaultOutput };
        Assert.Equal(direct with { LoraTargets = bound.LoraTargets }, bound);
        Assert.Equal(direct.LoraTargets, bound.LoraTargets);
    }

    [Theory]
    [InlineData("sft", Recipe.Sft)]
    [InlineData(" DPO ", Recipe.Dpo)]
    [InlineData("Npo", Recipe.Npo)]
    public void Recipes_are_read_without_regard_to_case_or_spaces(string text, Recipe expected) =>
        Assert.Equal(expected, Bind(text).Recipe);

    [Fact]
    public void An_unknown_recipe_is_refused_in_one_sentence_naming_it()
    {
        var e = Assert.Throws<ArgumentException>(() => Bind("ppo"));
        Assert.Equal("--recipe must be sft, dpo, ga, kl or npo, not 'ppo'", e.Message);
    }

    [Fact]
    public void Lora_targets_are_split_on_commas_and_trimmed_and_templates_parsed()
    {
        var options = Bind("sft", "--lora-targets", " q_proj, v_proj,,down_proj ", "--template", "Alpaca");
        Assert.Equal(["q_proj", "v_proj", "down_proj"], options.LoraTargets);
        Assert.Equal(PromptTemplate.Alpaca, options.Template);
        var e = Assert.Throws<ArgumentException>(() => Bind("sft", "--template", "chatml"));
        Assert.Equal("--template must be auto, alpaca or none, not 'chatml'", e.Message);
    }

    [Fact]
    public void A_chat_template_file_passes_through_and_a_blank_one_means_the_models_own()
    {
        Assert.Equal("chat.jinja", Bind("sft", "--chat-template", "chat.jinja").ChatTemplate);
        Assert.Null(Bind("sft", "--chat-template", " ").ChatTemplate);
        Assert.Null(Bind().ChatTemplate);
        Assert.Null(Bind("kl", "--retain", "").Retain);
    }

    [Fact]
    public void Packing_passes_through_off_by_default_and_is_refused_for_dpo_in_one_sentence()
    {
        Assert.False(Bind().Packing);
        Assert.True(Bind("sft", "--packing", "").Packing);
        var data = Path.Combine(TestPaths.TempDirectory("packing-request"), "d.jsonl");
        File.WriteAllText(data, "");
        var dpo = Bind("dpo", "--packing", "", "--model", FineTuningFixtures.TinyLlama, "--data", data, "--steps", "1");
        var e = Assert.Throws<ArgumentException>(dpo.Validate);
        Assert.StartsWith("--packing is for SFT only", e.Message);
        (dpo with { Recipe = Recipe.Sft }).Validate();
        (dpo with { Packing = false }).Validate();
    }

    [Theory]
    [InlineData("sigmoid", DpoLossType.Sigmoid)]
    [InlineData(" IPO ", DpoLossType.Ipo)]
    [InlineData("Hinge", DpoLossType.Hinge)]
    [InlineData("robust", DpoLossType.Robust)]
    public void Dpo_loss_types_are_read_without_regard_to_case_or_spaces_and_sigmoid_is_the_default(string text, DpoLossType expected)
    {
        Assert.Equal(expected, Bind("dpo", "--dpo-loss", text).DpoLoss);
        Assert.Equal(DpoLossType.Sigmoid, Bind("dpo").DpoLoss);
        Assert.Equal(0, Bind("dpo").LabelSmoothing);
        Assert.Equal(0.25, Bind("dpo", "--label-smoothing", "0.25").LabelSmoothing);
    }

    [Fact]
    public void An_unknown_dpo_loss_is_refused_in_one_sentence_naming_it_and_the_accepted_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => Bind("dpo", "--dpo-loss", "kto_pair"));
        Assert.Equal("--dpo-loss must be sigmoid, ipo, hinge or robust, not 'kto_pair'", e.Message);
    }

    [Theory]
    [InlineData("constant", LrSchedule.Constant)]
    [InlineData("constant_with_warmup", LrSchedule.Constant)]
    [InlineData(" Cosine", LrSchedule.Cosine)]
    public void Schedules_are_read_by_name_or_by_hfs_name_for_constant_with_warm_up(string text, LrSchedule expected) =>
        Assert.Equal(expected, Bind("sft", "--lr-scheduler", text).Schedule);

    [Theory]
    [InlineData("sigmoid", "0.5", null)]
    [InlineData("robust", "0.49", null)]
    [InlineData("hinge", "0", null)]
    [InlineData("sigmoid", "0.51", "--label-smoothing 0.51 is outside [0, 0.5]")]
    [InlineData("sigmoid", "NaN", "--label-smoothing NaN is outside [0, 0.5]")]
    [InlineData("robust", "0.5", "--label-smoothing must be below 0.5 for the robust loss, which divides by 1 - 2ε")]
    [InlineData("ipo", "0.1", "--label-smoothing is for the sigmoid and robust losses, not ipo (TRL ignores it there with a warning)")]
    public void Label_smoothing_is_checked_against_its_range_and_the_loss_type(string lossType, string labelSmoothing, string? refusal)
    {
        var data = Path.Combine(TestPaths.TempDirectory("dpo-loss-request"), "d.jsonl");
        File.WriteAllText(data, "");
        var options = Bind("dpo", "--dpo-loss", lossType, "--label-smoothing", labelSmoothing, "--model", FineTuningFixtures.TinyLlama, "--data", data, "--steps", "1");
        if (refusal is null) options.Validate();
        else Assert.Equal(refusal, Assert.Throws<ArgumentException>(options.Validate).Message);
    }

    [Fact]
    public void Dpo_loss_options_are_refused_for_sft_in_one_sentence()
    {
        var data = Path.Combine(TestPaths.TempDirectory("dpo-loss-sft"), "d.jsonl");
        File.WriteAllText(data, "");
        var sft = Bind("sft", "--model", FineTuningFixtures.TinyLlama, "--data", data, "--steps", "1");
        sft.Validate();
        Assert.Equal("--dpo-loss and --label-smoothing are for DPO only", Assert.Throws<ArgumentException>((sft with { DpoLoss = DpoLossType.Ipo }).Validate).Message);
        Assert.Equal("--dpo-loss and --label-smoothing are for DPO only", Assert.Throws<ArgumentException>((sft with { LabelSmoothing = 0.1 }).Validate).Message);
    }
}
