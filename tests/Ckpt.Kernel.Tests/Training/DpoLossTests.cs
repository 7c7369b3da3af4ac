using Ckpt.Models;
using Ckpt.Tests.Models;
using Ckpt.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>DPO (sigmoid, β 0.1) on the fixture's prompt/chosen/rejected against the values the Python stack computed, max abs 1e-4.</summary>
public class DpoLossTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;
    static readonly string Reference = TestPaths.Fixture("peft-lora-llama-tiny", "reference.safetensors");

    static CausalLanguageModel Base()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        return CausalLanguageModel.Load(ckpt);
    }

    void AssertMatches(Tensor actual, string name)
    {
        using var expected = ReferenceTensors.Load(Reference, name);
        var diff = ReferenceTensors.MaxAbsDiff(actual, expected);
        output.WriteLine($"{name}: max abs difference {diff:E3}");
        Assert.True(diff < Tolerance, $"{name}: max abs difference {diff:E3}");
    }

    [Fact]
    public void Policy_and_reference_log_probs_losses_and_rewards_match_the_reference()
    {
        using var model = Base();
        PeftLora.Load(model, TestPaths.Fixture("peft-lora-llama-tiny"));
        using var prompt = ReferenceTensors.Load(Reference, "prompt");
        using var chosen = ReferenceTensors.Load(Reference, "chosen");
        using var rejected = ReferenceTensors.Load(Reference, "rejected");

        using var dpo = DpoLoss.Compute(model, prompt, chosen, rejected, beta: 0.1);

        AssertMatches(dpo.PolicyChosenLogps, "policy_chosen_logps");
        AssertMatches(dpo.PolicyRejectedLogps, "policy_rejected_logps");
        AssertMatches(dpo.ReferenceChosenLogps, "ref_chosen_logps");
        AssertMatches(dpo.ReferenceRejectedLogps, "ref_rejected_logps");
        AssertMatches(dpo.Losses, "dpo_losses_beta0.1");
        AssertMatches(dpo.ChosenRewards, "reward_chosen");
        AssertMatches(dpo.RejectedRewards, "reward_rejected");
    }

    [Fact]
    public void The_loss_has_a_gradient_only_for_the_adapter()
    {
        using var model = Base();
        PeftLora.Load(model, TestPaths.Fixture("peft-lora-llama-tiny"));
        using var prompt = ReferenceTensors.Load(Reference, "prompt");
        using var chosen = ReferenceTensors.Load(Reference, "chosen");
        using var rejected = ReferenceTensors.Load(Reference, "rejected");
        using var dpo = DpoLoss.Compute(model, prompt, chosen, rejected);
        using var loss = dpo.Loss;
        loss.backward();
        var withGrad = model.named_parameters().Where(p => p.parameter.grad is not null).Select(p => p.name).ToList();
        Assert.Equal(24, withGrad.Count);
        Assert.All(withGrad, n => Assert.Contains(".lora_", n));
    }

    [Fact]
    public void A_fresh_adapter_gives_loss_ln2_and_zero_rewards()
    {
        using var model = Base();
        PeftLora.Attach(model, new LoraConfig { R = 4, Alpha = 8 }, seed: 7);
        using var prompt = ReferenceTensors.Load(Reference, "prompt");
        using var chosen = ReferenceTensors.Load(Reference, "chosen");
        using var rejected = ReferenceTensors.Load(Reference, "rejected");
        using var dpo = DpoLoss.Compute(model, prompt, chosen, rejected);
        var metrics = dpo.Metrics();
        Assert.Equal(Math.Log(2), metrics["loss"], 6);
        Assert.Equal(0, metrics["rewards/chosen"], 9);
        Assert.Equal(0, metrics["rewards/rejected"], 9);
        Assert.Equal(0, metrics["rewards/accuracies"]);
        Assert.Equal(0, metrics["rewards/margins"], 9);
    }

    [Fact]
    public void Padded_completions_of_different_lengths_count_only_their_real_tokens()
    {
        using var model = Base();
        using var prompt = ReferenceTensors.Load(Reference, "prompt");
        using var chosen = ReferenceTensors.Load(Reference, "chosen");
        using var noGrad = no_grad();
        using var whole = CompletionLogProbs.Summed(model, prompt, chosen);
        // The same completions right-padded with two junk tokens that the mask hides.
        using var padded = cat([chosen, full(chosen.shape[0], 2, 5L, ScalarType.Int64)], 1);
        using var mask = cat([ones_like(chosen), zeros(chosen.shape[0], 2, ScalarType.Int64)], 1);
        using var masked = CompletionLogProbs.Summed(model, prompt, padded, mask);
        Assert.True(ReferenceTensors.MaxAbsDiff(whole, masked) < 1e-5);
    }
}
