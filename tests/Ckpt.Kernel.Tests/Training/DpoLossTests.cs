using System.Globalization;
using System.Text.Json;
using Ckpt.Models;
using Ckpt.Tests.Models;
using Ckpt.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>
/// DPO (sigmoid, β 0.1) on the fixture's prompt/chosen/rejected against the values the Python stack computed, max abs
/// 1e-4; and each of TRL's loss types against TRL v0.28.0's formulas run in torch on the log-probs Ckpt computed, 1e-6.
/// </summary>
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
    /// <summary>Completion masks giving each row its own length: chosen 4, 3, 2 tokens and rejected 2, 4, 3 of the fixture's 4.</summary>
    static (Tensor Chosen, Tensor Rejected) RaggedMasks() =>
        (tensor(new long[,] { { 1, 1, 1, 1 }, { 1, 1, 1, 0 }, { 1, 1, 0, 0 } }), tensor(new long[,] { { 1, 1, 0, 0 }, { 1, 1, 1, 1 }, { 1, 1, 1, 0 } }));

    static double[] Values(Tensor t) => t.to(ScalarType.Float64).data<double>().ToArray();

    static long[][] Rows(Tensor mask) => Enumerable.Range(0, (int)mask.shape[0]).Select(i => mask[i].data<long>().ToArray()).ToArray();

    const double ParityTolerance = 1e-6;

    void AssertClose(double[] expected, double[] actual, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        output.WriteLine($"{name}: [{string.Join(", ", actual.Select(v => v.ToString("G7", CultureInfo.InvariantCulture)))}], max abs difference {diff:E2}");
        Assert.True(diff <= ParityTolerance, $"{name}: max abs difference {diff:E3}");
    }

    [Trait("Category", "slow")]
    [PythonTorchTheory]
    [InlineData("sigmoid", 0.1, 0.0)]
    [InlineData("sigmoid", 0.1, 0.2)]
    [InlineData("ipo", 0.1, 0.0)]
    [InlineData("ipo", 0.5, 0.0)]
    [InlineData("hinge", 0.1, 0.0)]
    [InlineData("robust", 0.1, 0.2)]
    public void Each_loss_type_gives_trls_losses_rewards_and_metrics_from_the_log_probs_ckpt_computed(string lossType, double beta, double labelSmoothing)
    {
        using var model = Base();
        PeftLora.Load(model, TestPaths.Fixture("peft-lora-llama-tiny"));
        using var prompt = ReferenceTensors.Load(Reference, "prompt");
        using var chosen = ReferenceTensors.Load(Reference, "chosen");
        using var rejected = ReferenceTensors.Load(Reference, "rejected");
        var (chosenMask, rejectedMask) = RaggedMasks();
        using var _c = chosenMask;
        using var _r = rejectedMask;
        var loss = Enum.Parse<DpoLossType>(lossType, ignoreCase: true);

        using var noGrad = no_grad();
        using var summed = DpoLoss.Compute(model, prompt, chosen, rejected, beta, chosenMask, rejectedMask);
        using var ours = DpoLoss.Compute(model, prompt, chosen, rejected, beta, chosenMask, rejectedMask, loss, labelSmoothing);

        var input = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["policy_chosen"] = Values(summed.PolicyChosenLogps), ["policy_rejected"] = Values(summed.PolicyRejectedLogps),
            ["ref_chosen"] = Values(summed.ReferenceChosenLogps), ["ref_rejected"] = Values(summed.ReferenceRejectedLogps),
            ["chosen_mask"] = Rows(chosenMask), ["rejected_mask"] = Rows(rejectedMask),
            ["beta"] = beta, ["label_smoothing"] = labelSmoothing, ["loss_type"] = lossType,
        });
        var (code, stdout, stderr) = PythonTorch.Run(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "python", "trl_dpo_losses.py")), input);
        Assert.True(code == 0, stderr);
        using var trl = JsonDocument.Parse(stdout);
        double[] Expected(string key) => trl.RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetDouble()).ToArray();

        AssertClose(Expected("losses"), Values(ours.Losses), "losses");
        AssertClose(Expected("chosen_rewards"), Values(ours.ChosenRewards), "rewards/chosen");
        AssertClose(Expected("rejected_rewards"), Values(ours.RejectedRewards), "rewards/rejected");
        AssertClose(Expected("chosen_logps"), Values(ours.PolicyChosenLogps), "logps/chosen");
        AssertClose(Expected("rejected_logps"), Values(ours.PolicyRejectedLogps), "logps/rejected");
        var metrics = ours.Metrics();
        foreach (var m in trl.RootElement.GetProperty("metrics").EnumerateObject())
            Assert.True(Math.Abs(m.Value.GetDouble() - metrics[m.Name]) <= ParityTolerance, $"{m.Name}: TRL {m.Value.GetDouble()}, Ckpt {metrics[m.Name]}");

        // The comparisons can fail: the margin is not zero, and each variant gives other numbers than plain DPO.
        Assert.Contains(Values(summed.ChosenRewards).Zip(Values(summed.RejectedRewards)), p => Math.Abs(p.First - p.Second) > 1e-3);
        if (loss != DpoLossType.Sigmoid || labelSmoothing > 0)
            Assert.True(Values(summed.Losses).Zip(Values(ours.Losses)).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
        if (loss == DpoLossType.Ipo)
        {
            // IPO without the per-token averaging is another loss, and the rows' different lengths matter.
            Assert.True(Expected("unnormalised_losses").Zip(Values(ours.Losses)).Max(p => Math.Abs(p.First - p.Second)) > 1e-2);
            Assert.NotEqual(Values(summed.PolicyChosenLogps)[0] / 4, Values(summed.PolicyChosenLogps)[1] / 3);
        }
    }

    [Fact]
    public void Ipo_averages_over_the_same_tokens_whether_completions_come_as_masks_or_as_labels()
    {
        using var model = Base();
        PeftLora.Load(model, TestPaths.Fixture("peft-lora-llama-tiny"));
        using var prompt = ReferenceTensors.Load(Reference, "prompt");
        using var chosen = ReferenceTensors.Load(Reference, "chosen");
        using var rejected = ReferenceTensors.Load(Reference, "rejected");
        var (chosenMask, rejectedMask) = RaggedMasks();
        using var _c = chosenMask;
        using var _r = rejectedMask;
        using var noGrad = no_grad();
        using var masked = DpoLoss.Compute(model, prompt, chosen, rejected, 0.1, chosenMask, rejectedMask, DpoLossType.Ipo);

        // The same pairs as whole right-padded sequences: prompt + completion, labels only on the real completion tokens.
        using var completions = cat([chosen, rejected], 0);
        using var mask = cat([chosenMask, rejectedMask], 0);
        using var prompts = cat([prompt, prompt], 0);
        using var ids = cat([prompts, completions.mul(mask)], 1);
        using var labels = cat([full_like(prompts, SftLoss.IgnoreIndex), completions.masked_fill(mask.eq(0), SftLoss.IgnoreIndex)], 1);
        using var attention = cat([ones_like(prompts), mask], 1);
        using var sequences = DpoLoss.ComputeSequences(model, ids, labels, attention, 0.1, DpoLossType.Ipo);

        foreach (var (a, b, name) in new[] { (masked.Losses, sequences.Losses, "losses"), (masked.PolicyChosenLogps, sequences.PolicyChosenLogps, "logps/chosen"),
            (masked.PolicyRejectedLogps, sequences.PolicyRejectedLogps, "logps/rejected"), (masked.ChosenRewards, sequences.ChosenRewards, "rewards/chosen") })
        {
            var diff = ReferenceTensors.MaxAbsDiff(a, b);
            output.WriteLine($"{name}: max abs difference {diff:E2}");
            Assert.True(diff < 1e-5, $"{name}: {diff:E3}");
        }

        // Unpadded completions count all their 4 tokens.
        using var whole = DpoLoss.Compute(model, prompt, chosen, rejected, 0.1);
        using var wholeIpo = DpoLoss.Compute(model, prompt, chosen, rejected, 0.1, loss: DpoLossType.Ipo);
        using var perToken = whole.PolicyRejectedLogps.div(4);
        Assert.Equal(0, ReferenceTensors.MaxAbsDiff(perToken, wholeIpo.PolicyRejectedLogps));
    }

    [Theory]
    [InlineData("sigmoid", 0.1, 0.0)]
    [InlineData("sigmoid", 0.1, 0.3)]
    [InlineData("robust", 0.1, 0.3)]
    [InlineData("hinge", 0.1, 0.0)]
    [InlineData("ipo", 0.1, 0.0)]
    [InlineData("ipo", 0.5, 0.0)]
    public void A_fresh_adapter_gives_each_loss_its_value_at_zero_margin(string lossType, double beta, double labelSmoothing)
    {
        using var model = Base();
        PeftLora.Attach(model, new LoraConfig { R = 4, Alpha = 8 }, seed: 7);
        using var prompt = ReferenceTensors.Load(Reference, "prompt");
        using var chosen = ReferenceTensors.Load(Reference, "chosen");
        using var rejected = ReferenceTensors.Load(Reference, "rejected");
        var loss = Enum.Parse<DpoLossType>(lossType, ignoreCase: true);
        using var dpo = DpoLoss.Compute(model, prompt, chosen, rejected, beta, loss: loss, labelSmoothing: labelSmoothing);
        // σ(0) = 1/2 for either label, so both smoothed forms stay ln 2; hinge relu(1 − 0); IPO (0 − 1/(2β))².
        double expected = loss switch { DpoLossType.Hinge => 1, DpoLossType.Ipo => 1 / (4 * beta * beta), _ => Math.Log(2) };
        var metrics = dpo.Metrics();
        Assert.Equal(expected, metrics["loss"], 5);
        Assert.Equal(0, metrics["rewards/margins"], 9);
    }
}
