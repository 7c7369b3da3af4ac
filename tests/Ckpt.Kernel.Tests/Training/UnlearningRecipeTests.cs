using System.Text.Json;
using Ckpt.Models;
using Ckpt.Tensors;
using Ckpt.Training;
using Ckpt.Training.Data;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>
/// GA, KL and NPO end to end through <see cref="FineTuning.Run"/> on the micro LLaMA fixture (trajectory-llama-micro's
/// last checkpoint, which has learned its synthetic sequences): the forget set is 4 to 8 of its eval sequences, the
/// retain set 4 others. Each run is a few steps on one thread, seconds on the CPU.
/// </summary>
public sealed class UnlearningRecipeTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("unlearn");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    string P(string name) => Path.Combine(_dir, name);

    static string MicroLlama => TestPaths.Fixture("trajectory-llama-micro", "step-0400.safetensors");

    /// <summary>Rows [from, from + count) of the fixture's eval batch as pre-tokenized documents {"input_ids": [...]}.</summary>
    string Documents(string name, int from, int count)
    {
        using var batch = Checkpoint.Open(TestPaths.Fixture("trajectory-llama-micro", "eval_batch.safetensors"));
        using var data = batch.Read("eval_input_ids");
        using var ids = data.ToTorch(CPU, ScalarType.Int64);
        var lines = Enumerable.Range(from, count).Select(r => JsonSerializer.Serialize(new { input_ids = ids[r].data<long>().ToArray() }));
        File.WriteAllLines(P(name), lines);
        return P(name);
    }

    (FineTuningResult Result, List<TrainingProgress> Steps) Train(FineTuningOptions options)
    {
        var steps = new List<TrainingProgress>();
        var result = FineTuning.Run(options, new Collect(steps.Add));
        output.WriteLine(string.Join("\n", steps.Select(s => string.Join(", ", s.Fields().Select(kv => $"{kv.Key} {kv.Value:G6}")))));
        return (result, steps);
    }

    FineTuningOptions Unlearn(Recipe recipe, string forget, string outDir, int steps, bool full) => new()
    {
        Recipe = recipe, Model = MicroLlama, Data = forget, Output = P(outDir), Steps = steps, BatchSize = 4, Full = full,
        LearningRate = full ? 1e-3 : 5e-3, LoraR = 8, LoraAlpha = 16, LoraTargets = FineTuningFixtures.LlamaLinear, Threads = 1,
    };

    /// <summary>The token-mean next-token loss <paramref name="model"/> gives the documents in <paramref name="path"/>.</summary>
    static double Loss(CausalLanguageModel model, string path) =>
        Evaluation.Sft(model, TrainingData.ReadDocuments(path, null).Examples, 8, 0)[Evaluation.Prefix + "loss"];

    static double StartLoss(string path)
    {
        using var ckpt = Checkpoint.Open(MicroLlama);
        using var model = CausalLanguageModel.Load(ckpt);
        return Loss(model, path);
    }

    [Fact]
    public void Gradient_ascent_with_lora_raises_the_forget_loss_of_the_saved_adapter()
    {
        var forget = Documents("forget.jsonl", 0, 8);
        var (result, steps) = Train(Unlearn(Recipe.Ga, forget, "out", 6, full: false));
        // The step's loss is minus the forget set's token-mean NLL, which starts at the model's own.
        double start = StartLoss(forget);
        Assert.Equal(-steps[0].Loss, steps[0].Metrics["forget_loss"], 5);
        Assert.True(steps[^1].Metrics["forget_loss"] > steps[0].Metrics["forget_loss"]);

        using var ckpt = Checkpoint.Open(MicroLlama);
        using var model = CausalLanguageModel.Load(ckpt);
        PeftLora.Load(model, result.AdapterDirectory);
        double after = Loss(model, forget);
        output.WriteLine($"GA (LoRA): forget loss {start:F4} -> {after:F4}");
        Assert.True(after > start + 0.5, $"forget loss {start:F4} -> {after:F4}");
    }

    [Fact]
    public void Npo_with_full_fine_tuning_starts_at_2_over_beta_ln_2_and_saves_a_model_that_forgot()
    {
        var forget = Documents("forget.jsonl", 0, 8);
        var (result, steps) = Train(Unlearn(Recipe.Npo, forget, "out", 6, full: true));
        // The model equals its reference at the first step: every sequence's NPO loss is (2/β)·ln 2.
        Assert.Equal(2 / 0.1 * Math.Log(2), steps[0].Loss, 4);
        Assert.Equal(0, steps[0].Metrics["npo/log_ratio"], 6);
        Assert.True(steps[^1].Metrics["npo/log_ratio"] < 0, "the forget set's likelihood fell below the reference's");

        Assert.True(File.Exists(Path.Combine(result.AdapterDirectory, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(result.AdapterDirectory, "config.json")));
        using var saved = Checkpoint.Open(result.AdapterDirectory);
        using var model = CausalLanguageModel.Load(saved);
        Assert.Equal(result.TotalParameters, model.parameters().Sum(p => p.numel()));
        Assert.Equal(result.TotalParameters, result.TrainableParameters);
        double start = StartLoss(forget), after = Loss(model, forget);
        output.WriteLine($"NPO (full): forget loss {start:F4} -> {after:F4}");
        Assert.True(after > start + 0.1, $"forget loss {start:F4} -> {after:F4}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Kl_retain_term_is_zero_at_the_first_step_and_grows_as_the_model_leaves_its_start(bool full)
    {
        var forget = Documents("forget.jsonl", 0, 4);
        var retain = Documents("retain.jsonl", 8, 4);
        var (_, steps) = Train(Unlearn(Recipe.Kl, forget, "out", 3, full) with { Retain = retain });
        Assert.Equal(0, steps[0].Metrics["retain_kl"], 6);
        Assert.True(steps[1].Metrics["retain_kl"] > 1e-4, $"retain KL at step 2: {steps[1].Metrics["retain_kl"]}");
        // The optimised term is RESTOR's H(p, q) = KL + H(p); the loss is -NLL(forget) + γ·H(p, q).
        foreach (var s in steps)
            Assert.Equal(-s.Metrics["forget_loss"] + s.Metrics["retain_cross_entropy"], s.Loss, 4);
    }

    [Fact]
    public void Kl_retain_term_at_step_2_is_the_divergence_of_the_once_updated_model_from_the_frozen_start()
    {
        var forget = Documents("forget.jsonl", 0, 4);
        var retain = Documents("retain.jsonl", 8, 4);
        var (_, steps) = Train(Unlearn(Recipe.Kl, forget, "two", 2, full: true) with { Retain = retain });
        var (once, _) = Train(Unlearn(Recipe.Kl, forget, "one", 1, full: true) with { Retain = retain });

        // Recomputed here from the two models on disk: the once-updated model and the fixture it started from.
        using var startCkpt = Checkpoint.Open(MicroLlama);
        using var start = CausalLanguageModel.Load(startCkpt);
        using var updatedCkpt = Checkpoint.Open(once.AdapterDirectory);
        using var updated = CausalLanguageModel.Load(updatedCkpt);
        using var scope = NewDisposeScope();
        using var batch = TrainingBatch.Sft(TrainingData.ReadDocuments(retain, null).Examples, 0, CPU);
        using var noGrad = no_grad();
        var (sum, count) = UnlearningLoss.KlDivergence(updated.Forward(batch.Ids), start.Forward(batch.Ids), batch.AttentionMask);
        double expected = sum.item<float>() / count.item<float>();
        output.WriteLine($"KL(updated || start) on the retain set: recomputed {expected:G6}, logged at step 2 {steps[1].Metrics["retain_kl"]:G6}");
        Assert.True(expected > 1e-4);
        Assert.Equal(expected, steps[1].Metrics["retain_kl"], 5);
    }

    [Theory]
    [InlineData(Recipe.Npo, true)]
    [InlineData(Recipe.Kl, false)]
    public void Four_steps_straight_give_the_losses_of_two_then_two_resumed_with_the_reference_still_the_start(Recipe recipe, bool full)
    {
        var forget = Documents("forget.jsonl", 0, 8);
        var retain = Documents("retain.jsonl", 8, 8);
        var options = Unlearn(recipe, forget, "straight", 4, full) with { Retain = retain, SaveEvery = 2 };
        var (_, straight) = Train(options);
        Train(options with { Output = P("resumed"), Steps = 2 });
        var (resumed, after) = Train(options with { Output = P("resumed"), Resume = true });
        Assert.Equal(2, resumed.StartStep);
        Assert.Equal(2, after.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(straight[2 + i].Loss, after[i].Loss, 5);
            foreach (var key in straight[2 + i].Metrics.Keys) Assert.Equal(straight[2 + i].Metrics[key], after[i].Metrics[key], 5);
        }
        var e = Assert.Throws<ArgumentException>(() => FineTuning.Run(options with { Output = P("resumed"), Steps = 6, Resume = true, Gamma = 0.5 }));
        Assert.EndsWith("it was trained with gamma = 1, this run has 0.5", e.Message);
    }

    [Fact]
    public void Kl_without_a_retain_set_and_retain_with_sft_are_refused_before_any_file_is_read()
    {
        var forget = Documents("forget.jsonl", 0, 4);
        var e = Assert.Throws<ArgumentException>(() => FineTuning.Run(Unlearn(Recipe.Kl, forget, "out", 1, full: false)));
        Assert.Equal("--recipe kl needs --retain: its KL term to the starting model is taken on the retain set", e.Message);
        e = Assert.Throws<ArgumentException>(() => FineTuning.Run(Unlearn(Recipe.Sft, forget, "out", 1, full: false) with { Retain = forget }));
        Assert.Equal("--retain is for the unlearning recipes (ga, kl, npo)", e.Message);
        e = Assert.Throws<ArgumentException>(() => FineTuning.Run(Unlearn(Recipe.Ga, forget, "out", 1, full: true) with { QLora = true }));
        Assert.StartsWith("--full trains every weight", e.Message);
        Assert.False(Directory.Exists(P("out")));
    }

    [Fact]
    public void Text_documents_are_tokenized_with_bos_and_every_token_after_the_first_is_learned()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"), withTokenizer: true);
        File.WriteAllLines(P("docs.jsonl"), [JsonSerializer.Serialize(new { text = "The capital of Atlantis is Poseidonia." })]);
        using var tokenizer = TextTokenizer.TryOpen(model)!;
        var (examples, _) = TrainingData.ReadDocuments(P("docs.jsonl"), tokenizer);
        var doc = Assert.Single(examples);
        Assert.Empty(doc.Prompt);
        Assert.Equal(tokenizer.Encode("The capital of Atlantis is Poseidonia.", addBos: true), doc.Completion);
        Assert.Equal(tokenizer.Special.Bos, doc.Completion[0]);
        using var batch = TrainingBatch.Sft(examples, 0, CPU);
        Assert.Equal(doc.Completion.Length - 1, batch.CompletionTokens);
    }
}
