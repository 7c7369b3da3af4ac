using Ckpt.Models;
using Ckpt.Resilience;
using Ckpt.Tests.Models;
using Ckpt.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>The SFT and DPO recipes end to end through <see cref="FineTuning.Run"/>, on CPU, in seconds.</summary>
public sealed class FineTuningTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("finetune");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    string P(string name) => Path.Combine(_dir, name);

    static readonly string[] AllLinear = FineTuningFixtures.LlamaLinear;

    (FineTuningResult Result, List<TrainingProgress> Steps) Train(FineTuningOptions options, CancellationToken cancellationToken = default,
        Action<TrainingProgress>? onStep = null)
    {
        var steps = new List<TrainingProgress>();
        var result = FineTuning.Run(options, new Collect(p => { steps.Add(p); onStep?.Invoke(p); }), cancellationToken);
        output.WriteLine(string.Join("\n", steps.Select(s => string.Join(", ", s.Fields().Select(kv => $"{kv.Key} {kv.Value:G5}")))));
        return (result, steps);
    }

    FineTuningOptions Sft(string model, string data, string outDir, int steps) => new()
    {
        Recipe = Recipe.Sft, Model = model, Data = data, Output = outDir, Steps = steps, BatchSize = 8,
        LearningRate = 1e-2, LoraR = 8, LoraAlpha = 16, LoraTargets = AllLinear, Threads = 1,
    };

    [Trait("Category", "slow")]
    [Fact]
    public void Sft_on_alpaca_instructions_through_the_sentencepiece_tokenizer_halves_the_loss()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"), withTokenizer: true);
        var data = FineTuningFixtures.AlpacaText(P("alpaca.jsonl"), 24);
        var (result, steps) = Train(Sft(model, data, P("out"), 25));
        Assert.EndsWith("tokenizer.model", result.Tokenizer);
        Assert.Equal(25, steps.Count);
        Assert.True(steps[^1].Loss <= steps[0].Loss / 2, $"loss {steps[0].Loss:F3} -> {steps[^1].Loss:F3}");
        Assert.All(steps, s => Assert.True(s.TokensPerSecond > 0 && s.LearningRate == 1e-2));
        Assert.True(File.Exists(P("out/adapter_model.safetensors")) && File.Exists(P("out/adapter_config.json")));
    }

    [Fact]
    public void Sft_on_pre_tokenized_instructions_of_different_prompt_lengths_halves_the_loss()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 16);
        var (result, steps) = Train(Sft(model, data, P("out"), 20));
        Assert.Null(result.Tokenizer);
        Assert.True(steps[^1].Loss <= steps[0].Loss / 2, $"loss {steps[0].Loss:F3} -> {steps[^1].Loss:F3}");
        // r (in + out) per projection: q 64+64, k 32+64, v 32+64, o 64+64, gate/up/down 64+176 each; 4 layers.
        Assert.Equal(4L * 8 * (128 + 96 + 96 + 128 + 3 * 240), result.TrainableParameters);
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Dpo_on_a_synthetic_preference_set_reaches_reward_accuracy_above_0_9()
    {
        var data = FineTuningFixtures.PreferenceIds(P("pairs.jsonl"), 16);
        var (_, steps) = Train(new FineTuningOptions
        {
            Recipe = Recipe.Dpo, Model = FineTuningFixtures.TinyLlama, Data = data, Output = P("out"), Steps = 20, BatchSize = 16,
            LearningRate = 5e-3, LoraR = 8, LoraAlpha = 16, LoraTargets = ["q_proj", "v_proj", "down_proj"], Threads = 1,
        });
        var last = steps[^1].Metrics;
        Assert.True(last["rewards/accuracies"] > 0.9, $"accuracy {last["rewards/accuracies"]}");
        Assert.True(last["rewards/margins"] > 0);
        Assert.True(steps[^1].Loss < Math.Log(2));
        Assert.Equal(last["rewards/chosen"] - last["rewards/rejected"], last["rewards/margins"], 5);
    }

    [Fact]
    public void A_fresh_adapter_gives_dpo_loss_ln_2_and_zero_rewards()
    {
        var data = FineTuningFixtures.PreferenceIds(P("pairs.jsonl"), 6);
        var (_, steps) = Train(new FineTuningOptions
        {
            Recipe = Recipe.Dpo, Model = FineTuningFixtures.TinyLlama, Data = data, Output = P("out"), Steps = 1, BatchSize = 6, Threads = 1,
        });
        var first = steps[0];
        Assert.Equal(Math.Log(2), first.Loss, 6);
        foreach (var key in new[] { "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies" })
            Assert.Equal(0.0, first.Metrics[key], 9);
    }

    [Fact]
    public void Dpo_with_full_fine_tuning_compares_against_a_frozen_copy_starting_at_ln_2_and_raises_the_margin()
    {
        var data = FineTuningFixtures.PreferenceIds(P("pairs.jsonl"), 8);
        var (result, steps) = Train(new FineTuningOptions
        {
            Recipe = Recipe.Dpo, Model = FineTuningFixtures.TinyLlama, Data = data, Output = P("out"), Steps = 4, BatchSize = 8, Threads = 1,
            Full = true, LearningRate = 1e-3,
        });
        // Step 1: the model is its reference, so the loss is ln 2 and every reward 0; were the reference the moving
        // model, every later step would be too.
        Assert.Equal(Math.Log(2), steps[0].Loss, 6);
        Assert.Equal(0.0, steps[0].Metrics["rewards/margins"], 9);
        Assert.True(steps[^1].Metrics["rewards/margins"] > 0.01, $"margin {steps[^1].Metrics["rewards/margins"]}");
        Assert.True(steps[^1].Loss < Math.Log(2));
        Assert.True(result.FullModel);
        Assert.True(File.Exists(P("out/model.safetensors")));
    }

    [Fact]
    public void Qlora_sft_trains_with_base_weights_stored_in_at_most_0_53_bytes_per_parameter()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 16);
        var (result, steps) = Train(Sft(model, data, P("out"), 12) with { QLora = true });
        var q = Assert.IsType<QuantizedBaseReport>(result.QuantizedBase);
        output.WriteLine($"NF4 base: {q.Layers} layers, {q.BytesPerParameter:F4} B/param; loss {steps[0].Loss:F3} -> {steps[^1].Loss:F3}");
        Assert.Equal(28, q.Layers);
        Assert.True(q.BytesPerParameter <= 0.53);
        Assert.True(steps[^1].Loss < steps[0].Loss * 0.8);
    }

    [Fact]
    public void Sft_with_full_fine_tuning_trains_every_weight_and_saves_a_model_that_reloads_with_its_last_loss()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 16);
        var (result, steps) = Train(Sft(model, data, P("out"), 6) with { Full = true, LearningRate = 1e-3, Shuffle = false, BatchSize = 16 });
        Assert.True(result.FullModel);
        Assert.Equal(result.TotalParameters, result.TrainableParameters);
        Assert.True(steps[^1].Loss < steps[0].Loss * 0.8, $"loss {steps[0].Loss:F4} -> {steps[^1].Loss:F4}");
        Assert.False(File.Exists(P("out/adapter_model.safetensors")));

        // The saved model is the weights after the last step: its loss on the (whole, unshuffled) batch is below the
        // last step's, which was measured before that step's update.
        using var ckpt = Checkpoint.Open(P("out"));
        using var reloaded = CausalLanguageModel.Load(ckpt);
        var examples = Ckpt.Training.Data.TrainingData.ReadSft(data, null).Examples;
        double after = Evaluation.Sft(reloaded, examples, 16, 0)[Evaluation.Prefix + "loss"];
        output.WriteLine($"full SFT: step losses {steps[0].Loss:F4} -> {steps[^1].Loss:F4}, saved model {after:F4}");
        Assert.True(after < steps[^1].Loss);
        Assert.Equal(File.ReadAllText(Path.Combine(model, "config.json")), File.ReadAllText(P("out/config.json")));
    }

    [Fact]
    public void Cancelling_between_steps_leaves_a_loadable_peft_adapter_of_the_last_completed_step()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 16);
        using var cts = new CancellationTokenSource();
        var (result, steps) = Train(Sft(model, data, P("out"), 50), cts.Token, p => { if (p.Step == 3) cts.Cancel(); });
        Assert.True(result.Cancelled);
        Assert.Equal(3, result.StepsCompleted);
        Assert.Equal(3, steps.Count);

        using var ckpt = Checkpoint.Open(model);
        using var reloaded = CausalLanguageModel.Load(ckpt);
        var config = PeftLora.Load(reloaded, P("out"));
        Assert.Equal(AllLinear, config.TargetModules);
        Assert.Contains(reloaded.named_parameters(), p => p.name.EndsWith("lora_B.weight") && p.parameter.abs().sum().item<float>() > 0);
        // The resumable state was committed at the same step, and its folder is itself a PEFT adapter.
        var newest = new CheckpointDirectory(P("out/checkpoints")).Newest();
        Assert.Equal(3, newest!.Step);
        using var again = CausalLanguageModel.Load(ckpt);
        PeftLora.Load(again, newest.Path);
    }

    [Theory]
    [InlineData(Recipe.Sft)]
    [InlineData(Recipe.Dpo)]
    public void Two_accumulated_micro_batches_of_4_take_the_step_one_batch_of_8_takes(Recipe recipe)
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        // Prompts and completions of different lengths, so micro-batches differ in padding and in completion tokens:
        // a per-micro-batch mean would weight tokens unequally; the step's normalisation must not.
        var data = recipe == Recipe.Sft ? FineTuningFixtures.InstructionIds(P("data.jsonl"), 16, varyCompletions: true) : FineTuningFixtures.PreferenceIds(P("data.jsonl"), 16);
        FineTuningOptions Options(string outDir, int batch, int accumulation) => Sft(model, data, outDir, 3) with
            { Recipe = recipe, BatchSize = batch, GradientAccumulation = accumulation, Shuffle = false, LearningRate = 5e-3 };
        var (_, whole) = Train(Options(P("whole"), 8, 1));
        var (accumulated, micro) = Train(Options(P("micro"), 4, 2));
        Assert.Equal(3, accumulated.StepsCompleted);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(whole[i].Loss, micro[i].Loss, 1e-5);
            Assert.Equal(whole[i].GradNorm, micro[i].GradNorm, 1e-5);
            Assert.Equal(whole[i].Tokens, micro[i].Tokens);
            foreach (var (metric, value) in whole[i].Metrics) Assert.Equal(value, micro[i].Metrics[metric], 1e-5);
        }
        const string key = "base_model.model.model.layers.3.mlp.down_proj.lora_B.weight";
        using var a = ReferenceTensors.Load(P("whole/adapter_model.safetensors"), key);
        using var b = ReferenceTensors.Load(P("micro/adapter_model.safetensors"), key);
        Assert.True(ReferenceTensors.MaxAbsDiff(a, b) < 1e-6, $"max |Δ| {ReferenceTensors.MaxAbsDiff(a, b)}");
        Assert.True(a.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Sft_with_held_out_data_logs_a_falling_eval_loss_every_n_steps_and_trains_exactly_as_without()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("train.jsonl"), 16, seed: 1);
        var held = FineTuningFixtures.InstructionIds(P("held.jsonl"), 6, seed: 99);
        // Dropout on: evaluation must switch it off and draw no random number, or the two runs would part.
        var options = Sft(model, data, P("plain"), 10) with { LoraDropout = 0.1 };
        var (_, plain) = Train(options);
        var (_, evaluated) = Train(options with { Output = P("eval"), EvalData = held, EvalEvery = 4 });

        Assert.Equal(plain.Select(s => s.Loss), evaluated.Select(s => s.Loss));
        var evalSteps = evaluated.Where(s => s.Metrics.ContainsKey("eval_loss")).Select(s => s.Step).ToArray();
        Assert.Equal([4, 8, 10], evalSteps);
        var losses = evaluated.Where(s => s.Metrics.ContainsKey("eval_loss")).Select(s => s.Metrics["eval_loss"]).ToArray();
        output.WriteLine($"eval_loss at steps 4, 8, 10: {string.Join(", ", losses.Select(l => l.ToString("F4")))}");
        Assert.True(losses[^1] < losses[0] * 0.8, $"eval loss {losses[0]:F3} -> {losses[^1]:F3}");
    }

    [Fact]
    public void Held_out_sft_eval_loss_is_the_completion_token_mean_the_sft_loss_gives_for_the_whole_set()
    {
        var held = FineTuningFixtures.InstructionIds(P("held.jsonl"), 5, seed: 4, varyCompletions: true);
        var (examples, _) = Ckpt.Training.Data.TrainingData.ReadSft(held, null);
        using var ckpt = Checkpoint.Open(FineTuningFixtures.TinyLlama);
        using var model = CausalLanguageModel.Load(ckpt);
        // In batches of 2 (the last one short) against one batch of all 5.
        var chunked = Evaluation.Sft(model, examples, batchSize: 2, padId: 0)["eval_loss"];
        using var all = Ckpt.Training.Data.TrainingBatch.Sft(examples, 0, CPU);
        using var noGrad = no_grad();
        using var whole = SftLoss.Compute(model, all.Ids, all.Labels, all.AttentionMask);
        Assert.Equal(whole.item<float>(), chunked, 1e-5);
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Dpo_with_held_out_pairs_logs_trl_eval_metrics_and_ranks_unseen_pairs_better_than_chance()
    {
        var data = FineTuningFixtures.PreferenceIds(P("pairs.jsonl"), 64);
        var held = FineTuningFixtures.PreferenceIds(P("held.jsonl"), 16, seed: 77);
        var (result, steps) = Train(new FineTuningOptions
        {
            Recipe = Recipe.Dpo, Model = FineTuningFixtures.TinyLlama, Data = data, Output = P("out"), Steps = 30, BatchSize = 16, EvalEvery = 10,
            LearningRate = 5e-3, LoraR = 8, LoraAlpha = 16, LoraTargets = ["q_proj", "v_proj", "down_proj"], Threads = 1, EvalData = held,
        });
        var last = steps[^1].Metrics;
        foreach (var key in new[] { "eval_loss", "eval_rewards/chosen", "eval_rewards/rejected", "eval_rewards/accuracies", "eval_rewards/margins", "eval_logps/chosen" })
            Assert.True(last.ContainsKey(key), key);
        Assert.Equal([10, 20, 30], steps.Where(s => s.Metrics.ContainsKey("eval_loss")).Select(s => s.Step));
        output.WriteLine($"held-out: loss {last["eval_loss"]:F4}, accuracy {last["eval_rewards/accuracies"]:F3}, margin {last["eval_rewards/margins"]:F3}");
        // 64 pairs fit perfectly (training accuracy 1) but generalise only partly to unseen counts: better than
        // chance, which is what the held-out numbers are there to show.
        Assert.Equal(1.0, last["rewards/accuracies"]);
        Assert.True(last["eval_loss"] < Math.Log(2) && last["eval_rewards/margins"] > 0);
        Assert.Equal(last["eval_rewards/chosen"] - last["eval_rewards/rejected"], last["eval_rewards/margins"], 6);
    }

    [Fact]
    public async Task Two_runs_with_dropout_side_by_side_each_give_the_losses_they_give_alone()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 12);
        FineTuningOptions Options(string outDir, long seed) => Sft(model, data, outDir, 5) with { LoraDropout = 0.3, Seed = seed };
        var (_, alone) = Train(Options(P("alone"), 5));
        // Each run owns its dropout generator: another run drawing in parallel must not shift its masks.
        var runs = Enumerable.Range(0, 2).Select(i => Task.Run(() =>
        {
            var steps = new List<TrainingProgress>();
            FineTuning.Run(Options(P($"side-{i}"), i == 0 ? 5 : 6), new Collect(steps.Add));
            return steps;
        })).ToArray();
        var losses = await Task.WhenAll(runs);
        Assert.Equal(alone.Select(s => s.Loss), losses[0].Select(s => s.Loss));
        Assert.NotEqual(alone.Select(s => s.Loss), losses[1].Select(s => s.Loss));
    }

    [Fact]
    public void Epochs_count_examples_over_the_accumulated_batch()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 12);
        var (result, steps) = Train(Sft(model, data, P("out"), 1) with { Steps = null, Epochs = 2, BatchSize = 2, GradientAccumulation = 3 });
        Assert.Equal(4, result.TotalSteps);
        Assert.Equal(2.0, steps[^1].Epoch, 9);
    }

    [Fact]
    public void Trace_names_each_set_up_phase_and_the_first_steps_phases_once()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 8);
        var lines = new List<string>();
        Train(Sft(model, data, P("out"), 2) with { BatchSize = 4, GradientAccumulation = 2, Trace = lines.Add });
        output.WriteLine(string.Join("\n", lines));
        var phases = lines.Select(l => l[12..]).ToList();
        Assert.StartsWith("data: 8 examples", phases[0]);
        Assert.Contains(phases, p => p.StartsWith("model: LlamaConfig"));
        Assert.Contains(phases, p => p.StartsWith("LoRA r=8"));
        Assert.Contains(phases, p => p.StartsWith("step 1: 2 batch(es) of 4 on cpu"));
        Assert.Equal(2, phases.Count(p => p == "backward"));
        Assert.Equal("optimizer step", phases[^1]);
        Assert.DoesNotContain(phases, p => p.StartsWith("step 2"));
    }

    FineTuningOptions Dpo(string data, string outDir, int steps, string lossType, double labelSmoothing = 0) => new()
    {
        Recipe = Recipe.Dpo, Model = FineTuningFixtures.TinyLlama, Data = data, Output = outDir, Steps = steps, BatchSize = 16,
        LearningRate = 5e-3, LoraR = 8, LoraAlpha = 16, LoraTargets = ["q_proj", "v_proj", "down_proj"], Threads = 1,
        DpoLoss = Enum.Parse<DpoLossType>(lossType, ignoreCase: true), LabelSmoothing = labelSmoothing,
    };

    [Trait("Category", "slow")]
    [Theory]
    [InlineData("ipo", 0.0)]
    [InlineData("hinge", 0.0)]
    [InlineData("robust", 0.1)]
    [InlineData("sigmoid", 0.1)]
    public void Dpo_with_each_loss_type_on_a_synthetic_preference_set_reaches_reward_accuracy_above_0_9(string lossType, double labelSmoothing)
    {
        var data = FineTuningFixtures.PreferenceIds(P("pairs.jsonl"), 16);
        var (_, steps) = Train(Dpo(data, P("out"), 20, lossType, labelSmoothing));
        var last = steps[^1].Metrics;
        Assert.True(last["rewards/accuracies"] > 0.9, $"accuracy {last["rewards/accuracies"]}");
        Assert.True(last["rewards/margins"] > 0);
        // Each loss starts at its zero-margin value (the adapter's B is 0) and must have come down from it.
        double start = lossType switch { "hinge" => 1, "ipo" => 1 / (4 * 0.1 * 0.1), _ => Math.Log(2) };
        Assert.Equal(start, steps[0].Loss, 5);
        Assert.True(steps[^1].Loss < start, $"loss {steps[0].Loss:F4} -> {steps[^1].Loss:F4}");
        var saved = System.Text.Json.JsonDocument.Parse(File.ReadAllText(P("out/checkpoints/step-20/trainer_state.json"))).RootElement;
        Assert.Equal(lossType, saved.GetProperty("dpo_loss").GetString());
        Assert.Equal(labelSmoothing, double.Parse(saved.GetProperty("label_smoothing").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Resuming_a_dpo_run_with_another_loss_type_or_label_smoothing_is_refused_naming_both()
    {
        var data = FineTuningFixtures.PreferenceIds(P("pairs.jsonl"), 4);
        Train(Dpo(data, P("out"), 1, "ipo") with { BatchSize = 4 });
        var e = Assert.Throws<ArgumentException>(() => FineTuning.Run(Dpo(data, P("out"), 2, "hinge") with { BatchSize = 4, Resume = true }));
        Assert.EndsWith("it was trained with dpo_loss = ipo, this run has hinge", e.Message);
        Train(Dpo(data, P("smoothed"), 1, "sigmoid", 0.1) with { BatchSize = 4 });
        e = Assert.Throws<ArgumentException>(() => FineTuning.Run(Dpo(data, P("smoothed"), 2, "sigmoid", 0.2) with { BatchSize = 4, Resume = true }));
        Assert.EndsWith("it was trained with label_smoothing = 0.1, this run has 0.2", e.Message);
        var (resumed, steps) = Train(Dpo(data, P("out"), 2, "ipo") with { BatchSize = 4, Resume = true });
        Assert.Equal(1, resumed.StartStep);
        Assert.Equal([2], steps.Select(s => s.Step));
    }

    [Fact]
    public void Six_steps_straight_give_the_same_losses_as_three_steps_then_three_resumed()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 12);
        // Batches straddle epochs (12 examples, batch 5), there is warm-up and LoRA dropout, so the data order, the
        // schedule and the RNG must all resume.
        FineTuningOptions Options(string outDir, int steps) => Sft(model, data, outDir, steps) with
            { BatchSize = 5, WarmupSteps = 2, LoraDropout = 0.1, LearningRate = 5e-3 };
        var (_, straight) = Train(Options(P("straight"), 6));
        var (first, firstSteps) = Train(Options(P("resumed"), 3));
        var (second, secondSteps) = Train(Options(P("resumed"), 6) with { Resume = true });
        Assert.Equal(3, second.StartStep);
        var resumed = firstSteps.Concat(secondSteps).ToList();
        Assert.Equal(straight.Select(s => s.Step), resumed.Select(s => s.Step));
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(straight[i].Loss, resumed[i].Loss, 1e-6);
            Assert.Equal(straight[i].LearningRate, resumed[i].LearningRate);
        }
        using var a = ReferenceTensors.Load(P("straight/adapter_model.safetensors"), "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
        using var b = ReferenceTensors.Load(P("resumed/adapter_model.safetensors"), "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
        Assert.True(ReferenceTensors.MaxAbsDiff(a, b) < 1e-6);
    }

    [Fact]
    public void Save_every_commits_through_the_async_checkpointer_and_records_each_phase()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 8);
        var (result, _) = Train(Sft(model, data, P("out"), 7) with { SaveEvery = 2, KeepLast = null });
        // Steps 2, 4, 6 asynchronously, then the final step 7 synchronously.
        Assert.Equal([2L, 4, 6, 7], result.Saves.Select(s => s.Step));
        Assert.Equal([true, true, true, false], result.Saves.Select(s => s.Async));
        foreach (var save in result.Saves)
            Assert.Superset(new HashSet<string> { "snapshot", "serialise", "write", "fsync", "commit" }, save.Timeline.Phases.Keys.ToHashSet());
        var directory = new CheckpointDirectory(P("out/checkpoints"));
        Assert.Equal([2L, 4, 6, 7], directory.Complete().Select(c => c.Step));
        foreach (var c in directory.Complete()) CheckpointDirectory.Verify(c);
        Assert.Equal(
            ["adapter_config.json", "adapter_model.safetensors", "trainer_state.json", "trainer_state.safetensors"],
            directory.Newest()!.Manifest.Files.Select(f => f.Name).Order());
    }

    [Fact]
    public void Resume_picks_the_newest_complete_checkpoint_and_ignores_a_torn_one()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 8);
        Train(Sft(model, data, P("out"), 4) with { SaveEvery = 2 });
        // A crash mid-commit leaves a temporary folder, and a step folder without a manifest was never committed.
        Directory.CreateDirectory(P("out/checkpoints/step-9.tmp-0123"));
        Directory.CreateDirectory(P("out/checkpoints/step-8"));
        File.WriteAllText(P("out/checkpoints/step-8/adapter_model.safetensors"), "torn");
        var (result, steps) = Train(Sft(model, data, P("out"), 6) with { Resume = true });
        Assert.Equal(4, result.StartStep);
        Assert.Equal([5, 6], steps.Select(s => s.Step));
        Assert.False(Directory.Exists(P("out/checkpoints/step-9.tmp-0123")));
    }

    [Fact]
    public void Resuming_with_other_lora_settings_is_refused_with_the_setting_named()
    {
        var model = FineTuningFixtures.RandomLlama(P("model"));
        var data = FineTuningFixtures.InstructionIds(P("ids.jsonl"), 8);
        Train(Sft(model, data, P("out"), 2));
        var e = Assert.ThrowsAny<Exception>(() => FineTuning.Run(Sft(model, data, P("out"), 4) with { Resume = true, LoraR = 4 }));
        output.WriteLine(e.Message);
        Assert.Contains("lora", e.Message);
    }

    [Fact]
    public void Lora_adamw_takes_the_steps_torch_adamw_takes()
    {
        manual_seed(1);
        using var w = randn(6, 5);
        var p1 = new TorchSharp.Modules.Parameter(w.clone(), requires_grad: true);
        var p2 = new TorchSharp.Modules.Parameter(w.clone(), requires_grad: true);
        using var ours = new LoraAdamW([("p", p1)], weightDecay: 0.01);
        using var theirs = optim.AdamW([p2], lr: 1e-2, weight_decay: 0.01);
        for (int step = 0; step < 5; step++)
        {
            using var target = randn(6, 5);
            ours.ZeroGrad();
            theirs.zero_grad();
            using (var l1 = p1.sub(target).pow(2).sum()) l1.backward();
            using (var l2 = p2.sub(target).pow(2).sum()) l2.backward();
            ours.Step(1e-2);
            theirs.step();
        }
        Assert.True(ReferenceTensors.MaxAbsDiff(p1, p2) < 1e-6);
    }

    [Fact]
    public void Options_are_validated_before_any_file_is_read()
    {
        var ok = new FineTuningOptions { Recipe = Recipe.Sft, Model = FineTuningFixtures.TinyLlama, Data = FineTuningFixtures.InstructionIds(P("d.jsonl"), 2), Output = P("o"), Steps = 1 };
        ok.Validate();
        Assert.Contains("--steps and --epochs", Assert.Throws<ArgumentException>(() => (ok with { Epochs = 1 }).Validate()).Message);
        Assert.Contains("--batch", Assert.Throws<ArgumentException>(() => (ok with { BatchSize = 0 }).Validate()).Message);
        Assert.Contains("--device", Assert.Throws<ArgumentException>(() => (ok with { Device = "tpu" }).Validate()).Message);
        Assert.Contains("does not exist", Assert.Throws<ArgumentException>(() => (ok with { Data = P("missing.jsonl") }).Validate()).Message);
    }
}
