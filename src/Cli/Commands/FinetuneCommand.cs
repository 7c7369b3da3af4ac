using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Ckpt.Training;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt finetune`: parses options, calls <see cref="FineTuning.Run"/>, shows progress and a summary.</summary>
static class FinetuneCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var recipe = new Option<string>("--recipe") { Description = "sft or dpo", Required = true };
        var model = new Option<string>("--model") { Description = "checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json beside it)", Required = true };
        var data = new Option<string>("--data") { Description = "JSONL: SFT {prompt,completion}, {instruction,input,output} or conversational {messages}; DPO {prompt,chosen,rejected} (text or message lists); or pre-tokenized *_input_ids", Required = true };
        var evalData = new Option<string?>("--eval-data") { Description = "held-out JSONL in the same format: eval_loss (and DPO's eval_rewards/*) every --eval-every steps and after the last" };
        var evalEvery = new Option<int>("--eval-every") { Description = "steps between evaluations (0: after the last step only)", DefaultValueFactory = _ => 0 };
        var qlora = new Option<bool>("--qlora") { Description = "store the base linear weights as NF4 (double-quantized), train LoRA on top" };
        var gradientCheckpointing = new Option<bool>("--gradient-checkpointing")
        {
            Description = "recompute each decoder layer in backward instead of keeping its activations (less memory, about one more forward)",
        };
        var loraR = new Option<int>("--lora-r") { DefaultValueFactory = _ => 16 };
        var loraAlpha = new Option<double>("--lora-alpha") { DefaultValueFactory = _ => 32 };
        var loraDropout = new Option<double>("--lora-dropout") { DefaultValueFactory = _ => 0 };
        var loraTargets = new Option<string>("--lora-targets") { Description = "comma-separated module names", DefaultValueFactory = _ => "q_proj,v_proj" };
        var steps = new Option<int?>("--steps") { Description = "optimizer steps" };
        var epochs = new Option<double?>("--epochs") { Description = "passes over the data (instead of --steps)" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 2e-4 };
        var warmup = new Option<int>("--warmup") { Description = "linear warm-up steps (from lr 0 at the first step)", DefaultValueFactory = _ => 0 };
        var warmupRatio = new Option<double>("--warmup-ratio") { Description = "warm-up as a fraction of the steps (HF's warmup_ratio), when --warmup is 0", DefaultValueFactory = _ => 0 };
        var schedule = new Option<string>("--lr-scheduler") { Description = "constant (default, as QLoRA), linear or cosine (decay to 0, as HF's Trainer)", DefaultValueFactory = _ => "constant" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var gradAccum = new Option<int>("--grad-accum") { Description = "micro-batches of --batch per optimizer step", DefaultValueFactory = _ => 1 };
        var beta = new Option<double>("--beta") { Description = "DPO β", DefaultValueFactory = _ => 0.1 };
        var dpoLoss = new Option<string>("--dpo-loss") { Description = "DPO loss as TRL's loss_type: sigmoid (default), ipo (per-token log-probs), hinge or robust", DefaultValueFactory = _ => "sigmoid" };
        var labelSmoothing = new Option<double>("--label-smoothing") { Description = "DPO label smoothing ε in [0, 0.5]: conservative DPO with sigmoid, or robust DPO", DefaultValueFactory = _ => 0 };
        var maxLength = new Option<int>("--max-length") { Description = "tokens per example, and per row with --packing", DefaultValueFactory = _ => 1024 };
        var packing = new Option<bool>("--packing") { Description = "SFT: pack whole examples into rows of --max-length tokens (TRL's bfd), each attending only to itself; --batch counts rows" };
        var template = new Option<string>("--template") { Description = "auto (Alpaca for instruction records, the chat template for conversations), alpaca or none", DefaultValueFactory = _ => "auto" };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "Jinja chat template file for conversational records (default: the model's tokenizer_config.json chat_template)" };
        var output = new Option<string>("--out") { Description = "output folder (adapter at its root, resumable state in checkpoints/)", DefaultValueFactory = _ => FineTuningRequest.DefaultOutput };
        var device = new Option<string>("--device") { Description = "cpu or cuda", DefaultValueFactory = _ => "cpu" };
        var dtype = new Option<string?>("--dtype") { Description = "compute dtype of the base: f32, bf16, f16 (default: the checkpoint's)" };
        var saveEvery = new Option<int>("--save-every") { Description = "commit resumable state every N steps (async)", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "continue from the newest complete checkpoint in --out" };
        var overwrite = new Option<bool>("--overwrite") { Description = Outputs.RunFolder.OverwriteHelp };
        var threads = new Option<int?>("--threads") { Description = "CPU threads for LibTorch (default: LibTorch's choice)" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 42 };
        var json = new Option<bool>("--json") { Description = "one JSON line per step, then one summary line" };
        var trace = new Option<bool>("--trace") { Description = "write each set-up phase and the first step's phases to stderr (to locate a crash)" };

        var command = new Command("finetune", "Fine-tune a causal LM with LoRA or QLoRA: SFT (completion-only loss) or DPO (reference = adapters off).")
        {
            recipe, model, data, evalData, evalEvery, qlora, gradientCheckpointing, loraR, loraAlpha, loraDropout, loraTargets, steps, epochs, lr, warmup, warmupRatio, schedule, batch, gradAccum, beta, dpoLoss, labelSmoothing, maxLength,
            packing, template, chatTemplate, output, device, dtype, threads, saveEvery, resume, overwrite, seed, json, trace,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var options = new FineTuningRequest
            {
                Recipe = parse.GetValue(recipe)!,
                Model = parse.GetValue(model)!,
                Data = parse.GetValue(data)!,
                EvalData = parse.GetValue(evalData),
                EvalEvery = parse.GetValue(evalEvery),
                Output = parse.GetValue(output)!,
                QLora = parse.GetValue(qlora),
                GradientCheckpointing = parse.GetValue(gradientCheckpointing),
                LoraR = parse.GetValue(loraR),
                LoraAlpha = parse.GetValue(loraAlpha),
                LoraDropout = parse.GetValue(loraDropout),
                LoraTargets = parse.GetValue(loraTargets)!,
                Steps = parse.GetValue(steps),
                Epochs = parse.GetValue(epochs),
                LearningRate = parse.GetValue(lr),
                WarmupSteps = parse.GetValue(warmup),
                WarmupRatio = parse.GetValue(warmupRatio),
                Schedule = parse.GetValue(schedule)!,
                BatchSize = parse.GetValue(batch),
                GradientAccumulation = parse.GetValue(gradAccum),
                Beta = parse.GetValue(beta),
                DpoLoss = parse.GetValue(dpoLoss)!,
                LabelSmoothing = parse.GetValue(labelSmoothing),
                MaxLength = parse.GetValue(maxLength),
                Packing = parse.GetValue(packing),
                Template = parse.GetValue(template)!,
                ChatTemplate = parse.GetValue(chatTemplate),
                Device = parse.GetValue(device)!,
                DType = parse.GetValue(dtype),
                SaveEvery = parse.GetValue(saveEvery),
                Resume = parse.GetValue(resume),
                Overwrite = parse.GetValue(overwrite),
                Seed = parse.GetValue(seed),
                Threads = parse.GetValue(threads),
            }.ToOptions() with { Trace = parse.GetValue(trace) ? line => Trace(stderr, line) : null };
            bool asJson = parse.GetValue(json);
            var bar = !asJson && ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected ? new ProgressBar(stdout) : null;
            var progress = new Reporter(p =>
            {
                if (asJson) stdout.WriteLine(JsonSerializer.Serialize(p.Fields()));
                else bar?.Show(p);
            });
            var result = FineTuning.Run(options, progress, cancellationToken);
            bar?.Done();
            if (asJson) stdout.WriteLine(JsonSerializer.Serialize(Summary(result)));
            else WriteSummary(stdout, result);
            return Task.FromResult(result.Cancelled ? 130 : 0);
        });
        return command;
    }

    /// <summary>Unbuffered, so the last line before a native crash is on the terminal.</summary>
    static void Trace(TextWriter stderr, string line)
    {
        stderr.WriteLine(line);
        stderr.Flush();
    }

    static Dictionary<string, object?> Summary(FineTuningResult r) => new()
    {
        ["done"] = true,
        ["recipe"] = r.Recipe.ToString().ToLowerInvariant(),
        ["cancelled"] = r.Cancelled,
        ["start_step"] = r.StartStep,
        ["steps_completed"] = r.StepsCompleted,
        ["total_steps"] = r.TotalSteps,
        ["final_loss"] = r.Last?.Loss,
        ["mean_tokens_per_second"] = r.MeanTokensPerSecond,
        ["examples"] = r.Examples,
        ["packed_rows"] = r.PackedRows,
        ["dropped_examples"] = r.DroppedExamples,
        ["trainable_parameters"] = r.TrainableParameters,
        ["total_parameters"] = r.TotalParameters,
        ["quantized_bytes_per_parameter"] = r.QuantizedBase?.BytesPerParameter,
        ["adapter"] = r.AdapterDirectory,
        ["checkpoints"] = r.CheckpointDirectory,
        ["saves"] = r.Saves.Count,
        ["max_save_stall_ms"] = r.Saves.Count == 0 ? null : r.Saves.Max(s => s.Stall.TotalMilliseconds),
        ["async_save_stall_ms"] = r.Saves.Where(s => s.Async).Select(s => (double?)s.Stall.TotalMilliseconds).Average(),
        ["sync_save_ms"] = r.Saves.Where(s => !s.Async).Select(s => (double?)s.Stall.TotalMilliseconds).LastOrDefault(),
        ["save_stalls_ms"] = r.Saves.Select(s => s.Stall.TotalMilliseconds).ToArray(),
        ["save_bytes"] = r.Saves.Count == 0 ? null : r.Saves[^1].Timeline.Phases.GetValueOrDefault("write").Bytes,
        ["metrics"] = r.Last?.Metrics,
        ["seconds"] = r.Elapsed.TotalSeconds,
    };

    static void WriteSummary(TextWriter o, FineTuningResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"{r.Recipe.ToString().ToUpperInvariant()} {(r.Cancelled ? "cancelled" : "finished")}: steps {r.StartStep + 1}-{r.StartStep + r.StepsCompleted} of {r.TotalSteps} on {r.Examples} examples{(r.PackedRows is int rows ? $" packed into {rows} rows" : "")} in {r.Elapsed.TotalSeconds:F1} s"));
        if (r.Last is { } last)
        {
            o.WriteLine(string.Create(inv, $"  final loss        {last.Loss:F4}"));
            if (last.Metrics.TryGetValue(Evaluation.Prefix + "loss", out var evalLoss))
                o.WriteLine(string.Create(inv, $"  eval loss         {evalLoss:F4}"));
            foreach (var (k, v) in last.Metrics.Where(kv => kv.Key.StartsWith("rewards/", StringComparison.Ordinal)))
                o.WriteLine(string.Create(inv, $"  {k,-18}{v:F4}"));
        }
        o.WriteLine(string.Create(inv, $"  tokens/s          {r.MeanTokensPerSecond:F0}"));
        o.WriteLine(string.Create(inv, $"  trainable params  {r.TrainableParameters:N0} of {r.TotalParameters:N0} ({100.0 * r.TrainableParameters / Math.Max(1, r.TotalParameters):F2}%)"));
        if (r.QuantizedBase is { } q)
            o.WriteLine(string.Create(inv, $"  NF4 base          {q.Layers} layers, {q.BytesPerParameter:F4} bytes/param"));
        if (r.Saves.Count > 0)
            o.WriteLine(string.Create(inv, $"  saves             {r.Saves.Count}, longest stall {r.Saves.Max(s => s.Stall.TotalMilliseconds):F1} ms (a synchronous save: {r.Saves.Where(s => !s.Async).Select(s => s.Stall.TotalMilliseconds).LastOrDefault():F1} ms)"));
        if (r.DroppedExamples > 0) o.WriteLine($"  dropped           {r.DroppedExamples} examples whose prompt fills --max-length");
        o.WriteLine($"  adapter           {r.AdapterDirectory}");
        o.WriteLine($"  resumable state   {r.CheckpointDirectory}");
    }

    /// <summary>Reports on the training thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    /// <summary>One line redrawn in place, at most ten times a second.</summary>
    sealed class ProgressBar(TextWriter o)
    {
        DateTime _shown = DateTime.MinValue;

        public void Show(TrainingProgress p)
        {
            var now = DateTime.UtcNow;
            if (p.Step < p.TotalSteps && (now - _shown).TotalSeconds < 0.1) return;
            _shown = now;
            const int width = 30;
            int filled = (int)(width * (double)p.Step / p.TotalSteps);
            var eta = p.Step == 0 ? TimeSpan.Zero : p.Elapsed / p.Step * (p.TotalSteps - p.Step);
            var extra = p.Metrics.TryGetValue("rewards/accuracies", out var acc) ? string.Create(CultureInfo.InvariantCulture, $" acc {acc:F2}") : "";
            o.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r[{new string('#', filled)}{new string('-', width - filled)}] {p.Step}/{p.TotalSteps} loss {p.Loss:F4}{extra} lr {p.LearningRate:0.0e+00} {p.TokensPerSecond:F0} tok/s ETA {eta:mm\\:ss}  "));
            o.Flush();
        }

        public void Done() => o.WriteLine();
    }
}
