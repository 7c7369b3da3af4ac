using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ckpt.Extension.Training;
using Ckpt.Extension.Visualisation;
using Ckpt.Models;
using Ckpt.Resilience;
using Ckpt.Training;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;

namespace Ckpt.Extension.Tests;

/// <summary>`#!ckpt-finetune` in a real CompositeKernel with the CPU LibTorch, on the tiny LLaMA fixture (vocab 512).</summary>
[Trait("Category", "slow")]
public sealed class FineTuningMagicTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _dir = Directory.CreateTempSubdirectory("ckpt-finetune-magic-").FullName;

    static string TinyLlama => TestPaths.Fixture("hf-llama-tiny-sharded");

    string P(string name) => Path.Combine(_dir, name);

    public void Dispose()
    {
        _harness.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Pre-tokenized SFT records: prompt "BOS op a SEP", a completion the op decides (ids below the vocab of 512).</summary>
    string InstructionIds(int count)
    {
        var rng = new Random(1);
        var lines = Enumerable.Range(0, count).Select(_ =>
        {
            int op = 10 + rng.Next(3), a = 20 + rng.Next(100);
            return JsonSerializer.Serialize(new { prompt_input_ids = new[] { 1, op, a, 3 }, completion_input_ids = new[] { op + 100, op + 150, op + 200, 2 } });
        });
        var path = P("ids.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    static double[] Ys(DisplayEvent e, int trace)
    {
        using var figure = JsonDocument.Parse(e.FormattedValues.Single(v => v.MimeType == ChartOutput.PlotlyMimeType).Value);
        return figure.RootElement.GetProperty("data")[trace].GetProperty("y").EnumerateArray().Select(y => y.GetDouble()).ToArray();
    }

    static double Cell(string html, string cls) =>
        double.Parse(Regex.Match(html, $"<td class=\"{cls}\" data-value=\"([^\"]+)\"").Groups[1].Value, CultureInfo.InvariantCulture);

    [Fact]
    public async Task Sft_magic_on_a_loaded_checkpoint_redraws_one_loss_chart_in_place_shows_the_summary_and_writes_a_peft_adapter()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-load \"{TinyLlama}\" --name tiny"));
        var data = InstructionIds(16);
        LiveLossChart.Interval = TimeSpan.FromMilliseconds(50);
        var clock = Stopwatch.StartNew();
        var result = await _harness.SubmitAsync(
            $"#!ckpt-finetune --recipe sft --model tiny --data \"{data}\" --steps 6 --batch 4 --lr 1e-2 --lora-r 4 --lora-alpha 8 --threads 1 --out \"{P("out")}\" --name run");
        var seconds = clock.Elapsed.TotalSeconds;
        KernelHarness.AssertSucceeded(result);

        var produced = result.Events.OfType<DisplayedValueProduced>().Where(e => e.FormattedValues.Any(v => v.MimeType == ChartOutput.PlotlyMimeType)).ToList();
        var updates = result.Events.OfType<DisplayedValueUpdated>().ToList();
        Assert.Single(produced);
        Assert.NotEmpty(updates);
        Assert.All(updates, u => Assert.Equal(produced[0].ValueId, u.ValueId));
        // Throttled: no more redraws than intervals elapsed, plus the final one.
        Assert.InRange(updates.Count, 1, (int)(seconds / 0.05) + 2);
        var losses = Ys(updates[^1], 0);
        Assert.Equal(6, losses.Length);
        Assert.All(losses, l => Assert.True(double.IsFinite(l) && l > 0));

        var html = KernelHarness.Html(result);
        Assert.Contains("SFT finished 6 steps", html);
        Assert.Equal(6, Cell(html, "steps"));
        Assert.Equal(losses[^1], Cell(html, "final-loss"), 12);
        Assert.True(Cell(html, "tokens-per-second") > 0);
        Assert.Contains(P("out"), html);
        Assert.True(File.Exists(P("out/adapter_model.safetensors")) && File.Exists(P("out/adapter_config.json")));
        using (var ckpt = Checkpoint.Open(TinyLlama))
        using (var model = CausalLanguageModel.Load(ckpt))
            Assert.Equal(["q_proj", "v_proj"], PeftLora.Load(model, P("out")).TargetModules);

        var bound = await _harness.SubmitAsync("run.StepsCompleted");
        KernelHarness.AssertSucceeded(bound);
        Assert.Equal(6, KernelHarness.ReturnValue(bound));
    }

    [Fact]
    public async Task Npo_magic_with_full_fine_tuning_unlearns_documents_and_writes_a_whole_model()
    {
        var rng = new Random(4);
        var docs = P("forget.jsonl");
        File.WriteAllLines(docs, Enumerable.Range(0, 8).Select(_ => JsonSerializer.Serialize(new { input_ids = Enumerable.Range(0, 12).Select(j => j == 0 ? 1 : 4 + rng.Next(500)).ToArray() })));
        LiveLossChart.Interval = TimeSpan.FromMilliseconds(50);
        var result = await _harness.SubmitAsync(
            $"#!ckpt-finetune --recipe npo --full --model \"{TinyLlama}\" --data \"{docs}\" --steps 3 --batch 4 --lr 1e-3 --threads 1 --out \"{P("out")}\" --name run");
        KernelHarness.AssertSucceeded(result);
        var html = KernelHarness.Html(result);
        Assert.Contains("NPO finished 3 steps", html);
        Assert.Contains("the model is in", html);
        Assert.True(Cell(html, "forget-loss") > 0);
        Assert.True(File.Exists(P("out/model.safetensors")) && File.Exists(P("out/config.json")));
        Assert.False(File.Exists(P("out/adapter_model.safetensors")));
        var bound = await _harness.SubmitAsync("run.FullModel");
        KernelHarness.AssertSucceeded(bound);
        Assert.Equal(true, KernelHarness.ReturnValue(bound));
    }

    [Fact]
    public async Task Sft_magic_with_eval_data_draws_the_held_out_loss_on_the_loss_axis_and_lists_it_in_the_summary()
    {
        var data = InstructionIds(16);
        LiveLossChart.Interval = TimeSpan.FromMilliseconds(50);
        var result = await _harness.SubmitAsync(
            $"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{data}\" --eval-data \"{data}\" --eval-every 2 --steps 6 --batch 4 --lr 1e-2 --lora-r 4 --threads 1 --out \"{P("out")}\"");
        KernelHarness.AssertSucceeded(result);
        var last = result.Events.OfType<DisplayedValueUpdated>().Last(e => e.FormattedValues.Any(v => v.MimeType == ChartOutput.PlotlyMimeType));
        using var figure = JsonDocument.Parse(last.FormattedValues.Single(v => v.MimeType == ChartOutput.PlotlyMimeType).Value);
        var eval = figure.RootElement.GetProperty("data").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "eval_loss");
        Assert.Equal([2, 4, 6], eval.GetProperty("x").EnumerateArray().Select(x => x.GetInt32()));
        var evalLosses = eval.GetProperty("y").EnumerateArray().Select(y => y.GetDouble()).ToArray();
        Assert.Equal(evalLosses[^1], Cell(KernelHarness.Html(result), "eval-loss"), 12);
    }

    [Fact]
    public async Task Stopping_a_finetune_cell_leaves_the_adapter_of_the_last_completed_step_loadable_and_says_so()
    {
        var data = InstructionIds(16);
        LiveLossChart.Interval = TimeSpan.FromMilliseconds(20);
        var steps = new TaskCompletionSource();
        var events = new ConcurrentQueue<KernelEvent>();
        using var subscription = _harness.Kernel.KernelEvents.Subscribe(e =>
        {
            events.Enqueue(e);
            if (e is DisplayedValueUpdated u && Ys(u, 0).Length >= 2) steps.TrySetResult();
        });
        var running = _harness.SubmitAsync(
            $"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{data}\" --steps 100000 --batch 4 --lora-r 4 --threads 1 --out \"{P("out")}\"");
        await steps.Task.WaitAsync(TimeSpan.FromMinutes(2));
        int drawn = Ys((DisplayEvent)events.Last(e => e is DisplayedValueUpdated), 0).Length;
        await _harness.Kernel.SendAsync(new Cancel());
        await running.WaitAsync(TimeSpan.FromMinutes(1));
        string Html() => string.Join("\n", events.OfType<DisplayEvent>().SelectMany(e => e.FormattedValues).Where(v => v.MimeType == "text/html").Select(v => v.Value));
        // The sentence is shown from the cancellation callback, and its event can reach the subscriber after the cell
        // has ended (on a loaded machine it did): wait for it, as the adapter is waited for below.
        const string stopping = @"Stopping after step \d+ or the step in progress: the run saves the adapter of its last completed step in ";
        for (var shown = DateTime.UtcNow + TimeSpan.FromSeconds(60); DateTime.UtcNow < shown && !Regex.IsMatch(Html(), stopping);)
            await Task.Delay(50);
        Assert.Matches(stopping, Html());

        // The cell ends at once; the run ends after its current step and then writes the adapter: wait for it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        using var ckpt = Checkpoint.Open(TinyLlama);
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var model = CausalLanguageModel.Load(ckpt);
                PeftLora.Load(model, P("out"));
                Assert.Contains(model.named_parameters(), p => p.name.EndsWith("lora_B.weight") && p.parameter.abs().sum().item<float>() > 0);
                last = null;
                break;
            }
            catch (Exception e) when (e is IOException or Errors.CheckpointFormatException or ArgumentException or Xunit.Sdk.XunitException or System.Text.Json.JsonException)
            {
                last = e;
                await Task.Delay(100);
            }
        }
        Assert.Null(last);
        var newest = new CheckpointDirectory(P("out/checkpoints")).Newest();
        Assert.NotNull(newest);
        Assert.InRange(newest.Step, Math.Max(2, drawn), 99999);
    }

    [Fact]
    public async Task Qlora_and_save_every_reach_the_run_and_the_summary_shows_the_nf4_base_and_each_save_stall()
    {
        var data = InstructionIds(8);
        var result = await _harness.SubmitAsync(
            $"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{data}\" --qlora --gradient-checkpointing --lr-scheduler cosine --steps 2 --save-every 1 --batch 4 --lora-r 4 --lora-targets \"q_proj, o_proj\" --threads 1 --out \"{P("q")}\"");
        KernelHarness.AssertSucceeded(result);
        var html = KernelHarness.Html(result);
        Assert.InRange(Cell(html, "nf4-bytes-per-parameter"), 0.5, 0.6);
        Assert.True(Cell(html, "saves") >= 2);
        Assert.True(Cell(html, "max-save-stall-ms") >= 0);
        Assert.Matches(@"step 1: [\d.]+ ms", html);
        Assert.Contains("\"o_proj\"", File.ReadAllText(P("q/adapter_config.json")));
        var state = File.ReadAllText(P("q/checkpoints/step-1/trainer_state.json"));
        Assert.Matches("\"lr_scheduler\":\\s*\"cosine\"", state);
        Assert.Matches("\"gradient_checkpointing\":\\s*\"true\"", state);
    }

    [Fact]
    public async Task Packing_reaches_the_run_and_the_summary_says_how_many_rows_the_examples_were_packed_into()
    {
        var data = InstructionIds(16);
        var result = await _harness.SubmitAsync(
            $"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{data}\" --packing --max-length 16 --epochs 1 --batch 2 --lora-r 4 --threads 1 --out \"{P("packed")}\" --name packed");
        KernelHarness.AssertSucceeded(result);
        // 16 examples of 8 tokens fill rows of 16 two at a time: 8 rows, 4 steps of 2 rows.
        Assert.Contains("SFT finished 4 steps on 16 examples packed into 8 rows", KernelHarness.Html(result));
        var rows = await _harness.SubmitAsync("packed.PackedRows");
        KernelHarness.AssertSucceeded(rows);
        Assert.Equal(8, KernelHarness.ReturnValue(rows));
    }

    [Theory]
    [InlineData("{\"prompt_input_ids\": [1, 2", "ids.jsonl")]
    [InlineData("{\"prompt_input_ids\": [1, 700, 3], \"completion_input_ids\": [5, 2]}", "700")]
    public async Task Data_the_run_cannot_use_fails_the_cell_with_one_sentence_and_marks_the_chart_failed(string line, string named)
    {
        var data = P("ids.jsonl");
        File.WriteAllText(data, line + "\n");
        var result = await _harness.SubmitAsync($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{data}\" --steps 1 --threads 1 --out \"{P("bad")}\"");
        var message = KernelHarness.Failure(result)?.Message ?? throw new Xunit.Sdk.XunitException("the magic succeeded where it should have failed");
        Assert.DoesNotContain("\n", message.Trim());
        Assert.DoesNotContain("   at ", message);
        Assert.Contains(named, message);
        Assert.Contains("failed", result.Events.OfType<DisplayedValueUpdated>().Last().FormattedValues.Single(v => v.MimeType == "text/html").Value);
    }

    void PreferenceIds()
    {
        var rng = new Random(2);
        File.WriteAllLines(P("pairs.jsonl"), Enumerable.Range(0, 8).Select(_ =>
        {
            int a = 20 + rng.Next(200);
            return JsonSerializer.Serialize(new { prompt_input_ids = new[] { 1, a, a + 1 }, chosen_input_ids = new[] { a + 2, a + 3 }, rejected_input_ids = new[] { a + 1, a + 1 } });
        }));
    }

    [Fact]
    public async Task Dpo_magic_with_dpo_loss_ipo_trains_with_it_and_saves_it_with_the_checkpoint()
    {
        PreferenceIds();
        LiveLossChart.Interval = TimeSpan.FromMilliseconds(50);
        var result = await _harness.SubmitAsync(
            $"#!ckpt-finetune --recipe dpo --model \"{TinyLlama}\" --data \"{P("pairs.jsonl")}\" --steps 1 --batch 4 --lora-r 4 --threads 1 --dpo-loss ipo --beta 0.5 --out \"{P("ipo")}\"");
        KernelHarness.AssertSucceeded(result);
        // The first step scores the pairs before any update: IPO's (0 − 1/(2β))² = 1 at β 0.5, where sigmoid's is ln 2.
        Assert.Equal(1, Ys(result.Events.OfType<DisplayedValueUpdated>().Last(), 0)[0], 5);
        using var state = JsonDocument.Parse(File.ReadAllText(P("ipo/checkpoints/step-1/trainer_state.json")));
        Assert.Equal("ipo", state.RootElement.GetProperty("dpo_loss").GetString());
    }

    [Fact]
    public async Task Dpo_magic_draws_the_reward_metrics_beside_the_loss()
    {
        PreferenceIds();
        LiveLossChart.Interval = TimeSpan.FromMilliseconds(50);
        var result = await _harness.SubmitAsync(
            $"#!ckpt-finetune --recipe dpo --model \"{TinyLlama}\" --data \"{P("pairs.jsonl")}\" --steps 2 --batch 4 --lora-r 4 --threads 1 --out \"{P("dpo")}\"");
        KernelHarness.AssertSucceeded(result);
        var last = result.Events.OfType<DisplayedValueUpdated>().Last();
        using var figure = JsonDocument.Parse(last.FormattedValues.Single(v => v.MimeType == ChartOutput.PlotlyMimeType).Value);
        var names = figure.RootElement.GetProperty("data").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.Equal(["loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"], names);
        Assert.All(Enumerable.Range(1, 4), t => Assert.Equal(2, Ys(last, t).Length));
        var html = KernelHarness.Html(result);
        Assert.InRange(Cell(html, "rewards-accuracies"), 0, 1);
        Assert.Equal(Ys(last, 3)[^1], Cell(html, "rewards-margins"), 12);
    }
}

/// <summary>`#!ckpt-convert --merge-adapter` in a real CompositeKernel with the CPU LibTorch: the user's next step after `#!ckpt-finetune`.</summary>
[Trait("Category", "slow")]
public sealed class MergeAdapterMagicTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _dir = Directory.CreateTempSubdirectory("ckpt-merge-adapter-magic-").FullName;

    public void Dispose()
    {
        _harness.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Convert_with_merge_adapter_writes_a_loadable_merged_model_and_says_how_many_weights_changed()
    {
        var output = Path.Combine(_dir, "merged");
        var result = await _harness.SubmitAsync(
            $"#!ckpt-convert \"{TestPaths.Fixture("hf-llama-tiny-sharded")}\" --out \"{output}\" --merge-adapter \"{TestPaths.Fixture("peft-lora-llama-tiny")}\" --name merged");
        KernelHarness.AssertSucceeded(result);
        var html = KernelHarness.Html(result);
        Assert.Contains("Merged the LoRA adapter into 12 weights.", html);
        Assert.Contains("config.json", html);
        using var ckpt = Checkpoint.Open(output);
        using var model = CausalLanguageModel.Load(ckpt);
        Assert.Equal(0, model.Projections().Count(p => p.Layer.Adapter is not null));
    }
}

public sealed class LiveLossChartTests
{
    [Theory]
    [InlineData(10, 1000)]
    [InlineData(1000, 1000)]
    [InlineData(1001, 1000)]
    [InlineData(100_000, 1000)]
    [InlineData(2999, 1000)]
    public void A_long_run_is_drawn_at_a_stride_within_the_point_budget_ending_with_its_last_step(int steps, int max)
    {
        var all = Enumerable.Range(1, steps).ToList();
        var kept = LiveLossChart.Thin(all, max);
        Assert.InRange(kept.Count, Math.Min(steps, max / 2), max);
        Assert.Equal(1, kept[0]);
        Assert.Equal(steps, kept[^1]);
        Assert.Equal(kept.Distinct().Count(), kept.Count);
        if (steps <= max) Assert.Equal(all, kept);
    }
}
