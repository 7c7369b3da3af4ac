using Ckpt.Models;
using Ckpt.Tests.Models;
using Ckpt.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>
/// Gradient checkpointing changes what is kept between forward and backward, never the gradient: the adapters'
/// gradients with each decoder layer recomputed equal those of the plain backward, for LLaMA, GPT-2 and a QLoRA base,
/// with LoRA dropout drawing its masks again from the replayed generator state.
/// </summary>
public sealed class GradientCheckpointingTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("grad-ckpt");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>The adapters' gradients after one SFT backward, with checkpointing on or off.</summary>
    static Dictionary<string, float[]> Gradients(string fixture, string[] targets, bool checkpointing, double dropout, bool qlora = false,
        bool replay = true)
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture(fixture));
        using var model = CausalLanguageModel.Load(ckpt);
        if (qlora) QLora.QuantizeBase(model);
        PeftLora.Attach(model, new LoraConfig { R = 4, Alpha = 8, Dropout = dropout, TargetModules = targets, FanInFanOut = model.Config is Gpt2Config }, seed: 3);
        using var generator = new Generator(11, CPU);
        using var bInit = new Generator(5, CPU);
        foreach (var (_, layer) in model.Projections())
            if (layer.Adapter is LoraAdapter adapter)
            {
                adapter.DropoutGenerator = generator;
                // B away from zero, so A gets a gradient too and every adapter weight is compared.
                using var noGrad = no_grad();
                using var b = randn(adapter.B.Weight.shape, generator: bInit).mul(0.1);
                adapter.B.Weight.copy_(b);
            }
        model.train();
        model.GradientCheckpointing = checkpointing;
        model.CheckpointRandom = replay ? new DropoutReplay(CPU, generator) : null;
        using var ids = randint(3, model.Config.VocabSize, [2, 12], generator: bInit);
        using var labels = SftLoss.CompletionLabels(ids, [4, 6]);
        using var loss = SftLoss.Compute(model, ids, labels);
        loss.backward();
        return model.named_parameters().Where(p => p.parameter.requires_grad)
            .ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray());
    }

    static double MaxDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        return a.Max(kv => kv.Value.Zip(b[kv.Key], (x, y) => (double)Math.Abs(x - y)).Max());
    }

    [Theory]
    [InlineData("hf-llama-tiny-sharded", 0.0, false)]
    [InlineData("hf-llama-tiny-sharded", 0.1, false)]
    [InlineData("hf-llama-tiny-sharded", 0.1, true)]
    [InlineData("hf-gpt2-tiny", 0.0, false)]
    [InlineData("hf-gpt2-tiny", 0.1, false)]
    public void Adapter_gradients_with_checkpointed_layers_equal_the_plain_backwards(string fixture, double dropout, bool qlora)
    {
        var targets = fixture.Contains("gpt2") ? FineTuningFixtures.Gpt2Linear : FineTuningFixtures.LlamaLinear;
        var plain = Gradients(fixture, targets, checkpointing: false, dropout, qlora);
        var checkpointed = Gradients(fixture, targets, checkpointing: true, dropout, qlora);
        var difference = MaxDifference(plain, checkpointed);
        output.WriteLine($"{plain.Count} adapter tensors, max |grad difference| {difference:E2}");
        Assert.True(plain.Values.All(g => g.Any(x => x != 0)), "every adapter tensor has a gradient");
        Assert.True(difference <= 1e-6, $"max gradient difference {difference:E2}");
    }

    [Fact]
    public void Without_replaying_the_dropout_state_the_recomputed_masks_differ_and_so_do_the_gradients()
    {
        // The control for the test above: it can fail, and the replay is what makes it pass.
        var plain = Gradients("hf-llama-tiny-sharded", FineTuningFixtures.LlamaLinear, checkpointing: false, dropout: 0.1);
        var unreplayed = Gradients("hf-llama-tiny-sharded", FineTuningFixtures.LlamaLinear, checkpointing: true, dropout: 0.1, replay: false);
        Assert.True(MaxDifference(plain, unreplayed) > 1e-4);
    }

    [Trait("Category", "slow")]
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_checkpointed_fine_tuning_run_logs_the_losses_of_a_plain_one(bool packing)
    {
        // Packed rows hand each layer a block-diagonal mask and restarting positions: constants the recompute must see too.
        var data = packing
            ? FineTuningFixtures.VariedIds(Path.Combine(_dir, "varied.jsonl"), 16)
            : FineTuningFixtures.InstructionIds(Path.Combine(_dir, "sft.jsonl"), 8, varyCompletions: true);
        FineTuningOptions Options(string name, bool checkpointing) => new()
        {
            Recipe = Recipe.Sft, Model = FineTuningFixtures.TinyLlama, Data = data, Output = Path.Combine(_dir, name), Steps = 4, BatchSize = 4,
            LearningRate = 1e-2, LoraR = 4, LoraAlpha = 8, LoraDropout = 0.1, LoraTargets = FineTuningFixtures.LlamaLinear, Threads = 1,
            GradientCheckpointing = checkpointing, Packing = packing, MaxLength = 128,
        };
        var plain = new List<TrainingProgress>();
        var checkpointed = new List<TrainingProgress>();
        FineTuning.Run(Options("plain", false), new Collect(plain.Add));
        FineTuning.Run(Options("ckpt", true), new Collect(checkpointed.Add));
        Assert.Equal(4, checkpointed.Count);
        for (int i = 0; i < plain.Count; i++)
        {
            output.WriteLine($"step {i + 1}: loss {plain[i].Loss:F6} / {checkpointed[i].Loss:F6}, grad norm {plain[i].GradNorm:F6} / {checkpointed[i].GradNorm:F6}");
            Assert.Equal(plain[i].Loss, checkpointed[i].Loss, 1e-6);
            Assert.Equal(plain[i].GradNorm, checkpointed[i].GradNorm, 1e-6);
        }
    }

    [Fact]
    public void A_checkpointed_dpo_run_logs_the_losses_of_a_plain_one()
    {
        // DPO's reference forward runs with the adapters off and gradients off, between the policy's checkpointed
        // forward and its backward: the recompute must see the adapters on again.
        var data = FineTuningFixtures.PreferenceIds(Path.Combine(_dir, "dpo.jsonl"), 8);
        FineTuningOptions Options(string name, bool checkpointing) => new()
        {
            Recipe = Recipe.Dpo, Model = FineTuningFixtures.TinyLlama, Data = data, Output = Path.Combine(_dir, name), Steps = 3, BatchSize = 4,
            LearningRate = 1e-2, LoraR = 4, LoraAlpha = 8, LoraTargets = FineTuningFixtures.LlamaLinear, Threads = 1, GradientCheckpointing = checkpointing,
        };
        var plain = new List<TrainingProgress>();
        var checkpointed = new List<TrainingProgress>();
        FineTuning.Run(Options("plain", false), new Collect(plain.Add));
        FineTuning.Run(Options("ckpt", true), new Collect(checkpointed.Add));
        Assert.Equal(3, checkpointed.Count);
        for (int i = 0; i < plain.Count; i++)
        {
            output.WriteLine($"step {i + 1}: loss {plain[i].Loss:F6} / {checkpointed[i].Loss:F6}, grad norm {plain[i].GradNorm:F6} / {checkpointed[i].GradNorm:F6}");
            Assert.Equal(plain[i].Loss, checkpointed[i].Loss, 1e-6);
            Assert.Equal(plain[i].GradNorm, checkpointed[i].GradNorm, 1e-6);
        }
        Assert.True(plain[^1].GradNorm > 0);
    }

    [Fact]
    public void Checkpointing_is_skipped_where_no_gradient_is_recorded()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        using var model = CausalLanguageModel.Load(ckpt);
        model.GradientCheckpointing = true;
        using var ids = ReferenceTensors.Load(TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors"), "input_ids");
        using var reference = ReferenceTensors.Load(TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors"), "logits");
        using var noGrad = no_grad();
        using var logits = model.Forward(ids);
        Assert.False(logits.requires_grad);
        Assert.True(ReferenceTensors.MaxAbsDiff(logits, reference) < 1e-4);
    }
}
