using Ckpt.Training;
using Ckpt.Training.Data;

namespace Ckpt.Tests.Training;

/// <summary>The option parsing `ckpt finetune` and `#!ckpt-finetune` share.</summary>
public sealed class FineTuningRequestTests
{
    static FineTuningRequest Request(string recipe = "sft") => new() { Recipe = recipe, Model = "m", Data = "d.jsonl" };

    [Fact]
    public void A_request_with_only_the_required_options_has_the_defaults_of_FineTuningOptions()
    {
        var parsed = Request().ToOptions();
        var direct = new FineTuningOptions { Recipe = Recipe.Sft, Model = "m", Data = "d.jsonl", Output = FineTuningRequest.DefaultOutput };
        Assert.Equal(direct with { LoraTargets = parsed.LoraTargets }, parsed);
        Assert.Equal(direct.LoraTargets, parsed.LoraTargets);
    }

    [Theory]
    [InlineData("sft", Recipe.Sft)]
    [InlineData(" DPO ", Recipe.Dpo)]
    public void Recipes_are_read_without_regard_to_case_or_spaces(string text, Recipe expected) =>
        Assert.Equal(expected, Request(text).ToOptions().Recipe);

    [Fact]
    public void An_unknown_recipe_is_refused_in_one_sentence_naming_it()
    {
        var e = Assert.Throws<ArgumentException>(() => Request("ppo").ToOptions());
        Assert.Equal("--recipe must be sft, dpo, ga, kl or npo, not 'ppo'", e.Message);
    }

    [Fact]
    public void Lora_targets_are_split_on_commas_and_trimmed_and_templates_parsed()
    {
        var options = (Request() with { LoraTargets = " q_proj, v_proj,,down_proj ", Template = "Alpaca" }).ToOptions();
        Assert.Equal(["q_proj", "v_proj", "down_proj"], options.LoraTargets);
        Assert.Equal(PromptTemplate.Alpaca, options.Template);
        Assert.Throws<ArgumentException>(() => (Request() with { Template = "chatml" }).ToOptions());
    }

    [Fact]
    public void A_chat_template_file_passes_through_and_a_blank_one_means_the_models_own()
    {
        Assert.Equal("chat.jinja", (Request() with { ChatTemplate = "chat.jinja" }).ToOptions().ChatTemplate);
        Assert.Null((Request() with { ChatTemplate = " " }).ToOptions().ChatTemplate);
        Assert.Null(Request().ToOptions().ChatTemplate);
    }

    [Fact]
    public void Packing_passes_through_off_by_default_and_is_refused_for_dpo_in_one_sentence()
    {
        Assert.False(Request().ToOptions().Packing);
        Assert.True((Request() with { Packing = true }).ToOptions().Packing);
        var data = Path.Combine(TestPaths.TempDirectory("packing-request"), "d.jsonl");
        File.WriteAllText(data, "");
        var dpo = (Request("dpo") with { Packing = true, Model = FineTuningFixtures.TinyLlama, Data = data, Steps = 1 }).ToOptions();
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
        Assert.Equal(expected, (Request("dpo") with { DpoLoss = text }).ToOptions().DpoLoss);
        Assert.Equal(DpoLossType.Sigmoid, Request("dpo").ToOptions().DpoLoss);
        Assert.Equal(0, Request("dpo").ToOptions().LabelSmoothing);
        Assert.Equal(0.25, (Request("dpo") with { LabelSmoothing = 0.25 }).ToOptions().LabelSmoothing);
    }

    [Fact]
    public void An_unknown_dpo_loss_is_refused_in_one_sentence_naming_it_and_the_accepted_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => (Request("dpo") with { DpoLoss = "kto_pair" }).ToOptions());
        Assert.Equal("--dpo-loss must be sigmoid, ipo, hinge or robust, not 'kto_pair'", e.Message);
    }

    [Theory]
    [InlineData("sigmoid", 0.5, null)]
    [InlineData("robust", 0.49, null)]
    [InlineData("hinge", 0.0, null)]
    [InlineData("sigmoid", 0.51, "--label-smoothing 0.51 is outside [0, 0.5]")]
    [InlineData("sigmoid", double.NaN, "--label-smoothing NaN is outside [0, 0.5]")]
    [InlineData("robust", 0.5, "--label-smoothing must be below 0.5 for the robust loss, which divides by 1 - 2ε")]
    [InlineData("ipo", 0.1, "--label-smoothing is for the sigmoid and robust losses, not ipo (TRL ignores it there with a warning)")]
    public void Label_smoothing_is_checked_against_its_range_and_the_loss_type(string lossType, double labelSmoothing, string? refusal)
    {
        var data = Path.Combine(TestPaths.TempDirectory("dpo-loss-request"), "d.jsonl");
        File.WriteAllText(data, "");
        var options = (Request("dpo") with { DpoLoss = lossType, LabelSmoothing = labelSmoothing, Model = FineTuningFixtures.TinyLlama, Data = data, Steps = 1 }).ToOptions();
        if (refusal is null) options.Validate();
        else Assert.Equal(refusal, Assert.Throws<ArgumentException>(options.Validate).Message);
    }

    [Fact]
    public void Dpo_loss_options_are_refused_for_sft_in_one_sentence()
    {
        var data = Path.Combine(TestPaths.TempDirectory("dpo-loss-sft"), "d.jsonl");
        File.WriteAllText(data, "");
        var sft = (Request() with { Model = FineTuningFixtures.TinyLlama, Data = data, Steps = 1 }).ToOptions();
        sft.Validate();
        Assert.Equal("--dpo-loss and --label-smoothing are for DPO only", Assert.Throws<ArgumentException>((sft with { DpoLoss = DpoLossType.Ipo }).Validate).Message);
        Assert.Equal("--dpo-loss and --label-smoothing are for DPO only", Assert.Throws<ArgumentException>((sft with { LabelSmoothing = 0.1 }).Validate).Message);
    }
}
