using Ckpt.Models;
using Ckpt.Tests.Models;
using Ckpt.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>Short CPU training runs on the tiny LLaMA with LoRA: they must actually learn, in seconds.</summary>
public class LearningTests(ITestOutputHelper output)
{
    static CausalLanguageModel Base()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        return CausalLanguageModel.Load(ckpt);
    }

    /// <summary>Synthetic instructions: prompt "BOS op a b SEP" (ids), a completion that the instruction (op) decides.</summary>
    static (Tensor Ids, long[] PromptLengths) InstructionSet(int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new long[count, 10];
        for (int i = 0; i < count; i++)
        {
            long op = 10 + rng.Next(3), a = 20 + rng.Next(100), b = 20 + rng.Next(100);
            long[] row = [1, op, a, b, 3, op + 100, op + 150, op + 200, op + 250, 2];
            for (int j = 0; j < 10; j++) rows[i, j] = row[j];
        }
        return (tensor(rows), Enumerable.Repeat(5L, count).ToArray());
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Completion_only_sft_halves_the_loss_on_a_small_instruction_set()
    {
        manual_seed(11);
        using var model = Base();
        PeftLora.Attach(model, new LoraConfig { R = 8, Alpha = 16, TargetModules = FineTuningFixtures.LlamaLinear }, seed: 11);
        // The fixture's weights are random (std 0.02) behind a final RMSNorm, so adapters inside the layers alone can barely
        // move its near-uniform logits; train the output head too, as PEFT's modules_to_save=["lm_head"] does.
        ((LlamaForCausalLm)model).LmHead!.requires_grad = true;
        var (ids, promptLengths) = InstructionSet(16, 1);
        using var _ = ids;
        using var labels = SftLoss.CompletionLabels(ids, promptLengths);
        using var optimizer = optim.AdamW(model.parameters().Where(p => p.requires_grad), lr: 2e-2);
        model.train();

        float first = 0, last = 0;
        for (int step = 0; step < 20; step++)
        {
            optimizer.zero_grad();
            using var loss = SftLoss.Compute(model, ids, labels);
            loss.backward();
            optimizer.step();
            last = loss.item<float>();
            if (step == 0) first = last;
        }
        output.WriteLine($"SFT loss {first:F3} -> {last:F3}");
        Assert.True(last <= first / 2, $"loss {first:F3} -> {last:F3}");
    }

    [Fact]
    public void Prompt_positions_are_masked_from_the_sft_loss()
    {
        using var ids = tensor(new long[,] { { 1, 5, 6, 7, 8 } });
        using var labels = SftLoss.CompletionLabels(ids, [3], tensor(new long[,] { { 1, 1, 1, 1, 0 } }));
        Assert.Equal([-100L, -100, -100, 7, -100], labels.data<long>().ToArray());
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Dpo_on_a_synthetic_preference_set_reaches_reward_accuracy_above_0_9()
    {
        manual_seed(12);
        using var model = Base();
        PeftLora.Attach(model, new LoraConfig { R = 8, Alpha = 16, TargetModules = ["q_proj", "v_proj", "down_proj"] }, seed: 12);
        var rng = new Random(2);
        int n = 16;
        var prompt = new long[n, 4];
        var chosen = new long[n, 3];
        var rejected = new long[n, 3];
        for (int i = 0; i < n; i++)
        {
            long a = 20 + rng.Next(200);
            for (int j = 0; j < 4; j++) prompt[i, j] = j == 0 ? 1 : a + j;
            // Preferred: continue the count; dispreferred: repeat the last token.
            for (int j = 0; j < 3; j++) { chosen[i, j] = a + 4 + j; rejected[i, j] = a + 3; }
        }
        using var p = tensor(prompt);
        using var c = tensor(chosen);
        using var r = tensor(rejected);
        using var optimizer = optim.AdamW(model.parameters().Where(x => x.requires_grad), lr: 5e-3);
        model.train();
        IReadOnlyDictionary<string, double> metrics = new Dictionary<string, double>();
        for (int step = 0; step < 20; step++)
        {
            optimizer.zero_grad();
            using var dpo = DpoLoss.Compute(model, p, c, r, beta: 0.1);
            using var loss = dpo.Loss;
            loss.backward();
            optimizer.step();
            metrics = dpo.Metrics();
        }
        output.WriteLine(string.Join(", ", metrics.Select(kv => $"{kv.Key} {kv.Value:F4}")));
        Assert.True(metrics["rewards/accuracies"] > 0.9);
        Assert.True(metrics["rewards/margins"] > 0);
        Assert.True(metrics["loss"] < Math.Log(2));
    }
}
