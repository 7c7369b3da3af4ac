using System.Diagnostics;
using System.Globalization;
using Ckpt.Models;
using Ckpt.Resilience;
using Ckpt.Tensors;
using Ckpt.Training.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ckpt.Training;

/// <summary>
/// The SFT and DPO recipes (OpenBezoar's QLoRA SFT, then DPO) as one short loop: load the model, read and tokenize
/// the data, optionally quantize the base to NF4, attach fresh LoRA adapters, then for each step build a padded batch,
/// compute the completion-only SFT loss or one of TRL's DPO losses (reference = the same model with its adapters
/// switched off), clip, and take an AdamW step on the adapters only. With packing (SFT), the examples are first packed
/// into rows (<see cref="SequencePacking"/>) and the batches are made of those rows. Every <c>SaveEvery</c> steps the adapter,
/// optimizer moments, step and RNG state are committed by the <see cref="AsyncCheckpointer"/> (lazy snapshot, so
/// the next forward/backward overlaps the copy); at the end, or when cancelled between steps, the state is committed
/// once more and the PEFT adapter is written to the output folder. Progress goes to the caller once per step.
/// </summary>
public static class FineTuning
{
    public const string CheckpointsFolder = "checkpoints";
    const string RngStateName = "rng.cpu";

    public static FineTuningResult Run(FineTuningOptions options, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        void Trace(string phase) => options.Trace?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds,8:F2} s  {phase}"));
        var device = new Device(options.Device);
        if (options.Threads is int threads) set_num_threads(threads);
        manual_seed(options.Seed);

        var modelFolder = Directory.Exists(options.Model) ? options.Model : Path.GetDirectoryName(Path.GetFullPath(options.Model))!;
        using var tokenizer = TextTokenizer.TryOpen(modelFolder);
        var special = tokenizer?.Special ?? SpecialTokens.Read(modelFolder);
        var chatTemplate = options.ChatTemplate is { } chatFile ? Data.ChatTemplates.ChatTemplate.FromFile(chatFile, modelFolder) : Data.ChatTemplates.ChatTemplate.FromModelFolder(modelFolder);
        IReadOnlyList<SftExample> sft = [];
        IReadOnlyList<PreferenceExample> preferences = [];
        int dropped;
        if (options.Recipe == Recipe.Sft) (sft, dropped) = TrainingData.ReadSft(options.Data, tokenizer, options.Template, options.MaxLength, chatTemplate, modelFolder);
        else (preferences, dropped) = TrainingData.ReadPreferences(options.Data, tokenizer, options.Template, options.MaxLength, chatTemplate, modelFolder);
        int examples = options.Recipe == Recipe.Sft ? sft.Count : preferences.Count;
        Trace($"data: {examples} examples ({dropped} dropped), tokenizer {tokenizer?.Source ?? "none (pre-tokenized)"}");
        int[][] packed = options.Packing ? SequencePacking.BestFitDecreasing(sft.Select(e => e.Prompt.Length + e.Completion.Length).ToList(), options.MaxLength) : [];
        if (options.Packing)
            Trace(string.Create(CultureInfo.InvariantCulture,
                $"packing: {packed.Length} rows of at most {options.MaxLength} tokens, {sft.Sum(e => e.Prompt.Length + e.Completion.Length) / ((double)packed.Length * options.MaxLength):P1} full"));
        IReadOnlyList<SftExample> evalSft = [];
        IReadOnlyList<PreferenceExample> evalPreferences = [];
        if (options.EvalData is { } evalData)
        {
            if (options.Recipe == Recipe.Sft) evalSft = TrainingData.ReadSft(evalData, tokenizer, options.Template, options.MaxLength, chatTemplate, modelFolder).Examples;
            else evalPreferences = TrainingData.ReadPreferences(evalData, tokenizer, options.Template, options.MaxLength, chatTemplate, modelFolder).Examples;
            Trace($"eval data: {evalSft.Count + evalPreferences.Count} examples");
        }

        using var checkpoint = Checkpoint.Open(options.Model, cancellationToken);
        using var model = CausalLanguageModel.Load(checkpoint, device: device, dtype: DTypeNames.Compute(options.DType), cancellationToken: cancellationToken);
        Trace($"model: {model.Config.GetType().Name}, {model.parameters().Sum(p => p.numel()):N0} parameters on {device}");
        CheckVocabulary(model.Config.VocabSize, sft, preferences, options.Data);
        if (options.EvalData is { } evalPath) CheckVocabulary(model.Config.VocabSize, evalSft, evalPreferences, evalPath);
        QuantizedBaseReport? quantized = options.QLora ? QLora.QuantizeBase(model) : null;
        if (quantized is not null) Trace($"NF4 base: {quantized.Layers} layers, {quantized.BytesPerParameter:F4} bytes/param");
        var lora = new LoraConfig
        {
            R = options.LoraR, Alpha = options.LoraAlpha, Dropout = options.LoraDropout, TargetModules = options.LoraTargets,
            FanInFanOut = model.Config is Gpt2Config, BaseModelNameOrPath = options.Model,
        };
        PeftLora.Attach(model, lora, seed: options.Seed);
        using var dropoutGenerator = new Generator((ulong)options.Seed, CPU);
        foreach (var (_, layer) in model.Projections())
            if (layer.Adapter is LoraAdapter adapter) adapter.DropoutGenerator = dropoutGenerator;
        var dropoutReplay = new DropoutReplay(device, dropoutGenerator);
        model.GradientCheckpointing = options.GradientCheckpointing;
        model.CheckpointRandom = options.LoraDropout > 0 ? dropoutReplay : null;
        var trainable = AdapterParameters(model);
        long trainableCount = trainable.Sum(p => p.Parameter.numel());
        long totalCount = model.parameters().Sum(p => p.numel()) + (quantized?.Parameters ?? 0);
        using var optimizer = new LoraAdamW(trainable, weightDecay: options.WeightDecay);
        Trace($"LoRA r={lora.R} on {string.Join(",", lora.TargetModules)}: {trainable.Count} tensors, {trainableCount:N0} parameters"
            + (options.GradientCheckpointing ? ", gradient checkpointing on" : ""));

        var rngBytes = new byte[RngBytes()];
        var state = new List<StateTensor>();
        state.AddRange(trainable.Select(p => StateTensor.FromTorch(p.Name, p.Parameter)));
        state.AddRange(optimizer.State().Select(s => StateTensor.FromTorch(s.Name, s.Tensor)));
        state.Add(StateTensor.FromBytes(RngStateName, DType.U8, rngBytes, rngBytes.Length));

        Outputs.RunFolder.Open(options.Output, options.Inputs, options.Resume, options.Overwrite, [CheckpointsFolder, PeftLora.WeightsFile, PeftLora.ConfigFile]);
        var directory = new CheckpointDirectory(Path.Combine(options.Output, CheckpointsFolder)) { KeepLast = options.KeepLast };
        int start = 0;
        if (options.Resume && directory.Newest() is { } newest)
        {
            var metadata = TrainerCheckpoint.Restore(newest, state);
            CheckCompatible(metadata, options, lora, newest.Path);
            start = checked((int)newest.Step);
            optimizer.StepCount = long.Parse(metadata["optimizer_step"], CultureInfo.InvariantCulture);
            using var rng = tensor(rngBytes, ScalarType.Byte);
            random.set_rng_state(rng);
        }
        directory.RemoveAbandoned();

        int perEpoch = options.Packing ? packed.Length : examples, accumulation = options.GradientAccumulation;
        int total = options.Steps ?? checked((int)Math.Ceiling(options.Epochs!.Value * perEpoch / ((double)options.BatchSize * accumulation)));
        var order = new DataOrder(perEpoch, options.BatchSize, options.Seed, options.Shuffle);
        // Padding is masked and unlabelled, so any id in the vocabulary will do; a config may name one outside it, which the
        // embedding cannot look up: a tiny model's (the GPT-2 fixture keeps GPT-2's EOS 50256 with a vocabulary of 512)
        // or early HF LLaMA conversions' "pad_token_id": -1.
        int padId = special.PadOrDefault is var pad && pad >= 0 && pad < model.Config.VocabSize ? pad : 0;
        if (options.Recipe == Recipe.Dpo) model.eval(); // TRL DPOConfig.disable_dropout
        else model.train();

        var checkpointer = new AsyncCheckpointer(directory, new TrainerCheckpoint.Writer());
        TrainingProgress? last = null;
        long lastSaved = -1, tokensSeen = 0;
        double stepSeconds = 0;
        int step = start;
        bool cancelled = false;
        try
        {
            for (; step < total; step++)
            {
                if (cancellationToken.IsCancellationRequested) { cancelled = true; break; }
                long began = Stopwatch.GetTimestamp();
                bool first = step == start;
                using var scope = NewDisposeScope();
                var batches = Enumerable.Range(0, accumulation)
                    .Select(k => order.Batch((long)step * accumulation + k))
                    .Select(indices => options.Recipe == Recipe.Dpo ? TrainingBatch.Preferences(indices.Select(i => preferences[i]).ToList(), padId, device)
                        : !options.Packing ? TrainingBatch.Sft(indices.Select(i => sft[i]).ToList(), padId, device)
                        : options.UnpackPackedRows ? TrainingBatch.Sft(indices.SelectMany(r => packed[r]).Select(i => sft[i]).ToList(), padId, device)
                        : TrainingBatch.Packed(indices.Select(r => packed[r].Select(i => sft[i]).ToList()).ToList(), padId, device))
                    .ToList();
                long padding = batches.Sum(b => b.Ids.NumberOfElements - b.Tokens);
                if (first) Trace($"step {step + 1}: {accumulation} batch(es) of {options.BatchSize}{(options.Packing ? " packed rows" : "")} on {device}, {batches.Sum(b => b.Tokens)} tokens");
                SeedStep(device, dropoutGenerator, dropoutReplay, options.Seed, step);
                double lr = LearningRateSchedule.At(options, step, total);
                optimizer.ZeroGrad();

                // Each micro-batch's loss is its share of the whole step's: summed over its completion tokens (SFT)
                // or pairs (DPO) and divided by the step's total, so the accumulated gradient is the big batch's.
                double loss = 0;
                var metrics = new Dictionary<string, double>();
                double normaliser = options.Recipe == Recipe.Sft ? batches.Sum(b => b.CompletionTokens) : batches.Sum(b => b.Examples);
                foreach (var batch in batches)
                {
                    using var micro = NewDisposeScope();
                    Tensor l;
                    if (options.Recipe == Recipe.Sft)
                    {
                        var (sum, _) = SftLoss.SummedTokenLoss(model, batch.Ids, batch.Labels, batch.AttentionMask, batch.PositionIds);
                        l = sum.Over(Math.Max(1, normaliser));
                    }
                    else
                    {
                        using var dpo = DpoLoss.ComputeSequences(model, batch.Ids, batch.Labels, batch.AttentionMask, options.Beta, options.DpoLoss, options.LabelSmoothing);
                        l = dpo.Losses.sum().Over(normaliser);
                        foreach (var (key, value) in dpo.Metrics().Where(kv => kv.Key != "loss"))
                            metrics[key] = metrics.GetValueOrDefault(key) + value * batch.Examples / normaliser;
                    }
                    if (first) Trace("forward and loss");
                    l.backward();
                    model.ThrowIfBackwardFailed();
                    if (first) Trace("backward");
                    loss += l.item<float>();
                    batch.Dispose();
                }
                double gradNorm = options.MaxGradNorm is double max
                    ? nn.utils.clip_grad_norm_(optimizer.Parameters, max)
                    : GradNorm(optimizer.Parameters);
                if (first) Trace($"gradient norm {gradNorm:G4}");

                // A lazy snapshot of the previous save may still be reading the adapters: wait before changing them.
                checkpointer.WaitForSnapshotAsync().AsTask().GetAwaiter().GetResult();
                optimizer.Step(lr);
                if (device.type == DeviceType.CUDA) cuda.synchronize();
                if (first) Trace("optimizer step");

                double seconds = Stopwatch.GetElapsedTime(began).TotalSeconds;
                stepSeconds += seconds;
                if (options.EvalData is not null && ((options.EvalEvery > 0 && (step + 1) % options.EvalEvery == 0) || step + 1 == total))
                {
                    var evaluated = options.Recipe == Recipe.Sft
                        // Not cancellable: a stop request ends the run after this step, with its adapter saved.
                        ? Evaluation.Sft(model, evalSft, options.BatchSize, padId)
                        : Evaluation.Dpo(model, evalPreferences, options.BatchSize, padId, options.Beta, options.DpoLoss, options.LabelSmoothing);
                    foreach (var (key, value) in evaluated) metrics[key] = value;
                    if (first) Trace("evaluation");
                }
                long tokens = batches.Sum(b => b.Tokens);
                tokensSeen += tokens;
                int completed = step + 1;
                last = new TrainingProgress(completed, total, (double)completed * options.BatchSize * accumulation / perEpoch, loss, lr, gradNorm,
                    tokens, tokens / seconds, clock.Elapsed, metrics) { PaddingTokens = padding, MeanTokensPerSecond = tokensSeen / stepSeconds };
                progress?.Report(last);

                if (options.SaveEvery > 0 && completed % options.SaveEvery == 0 && completed < total)
                {
                    CaptureRng(rngBytes);
                    checkpointer.SaveAsync(completed, state, Metadata(options, lora, completed, optimizer.StepCount), SnapshotMode.Lazy)
                        .AsTask().GetAwaiter().GetResult();
                    lastSaved = completed;
                }
            }
        }
        finally
        {
            checkpointer.WaitForSnapshotAsync().AsTask().GetAwaiter().GetResult();
            checkpointer.FlushAsync().GetAwaiter().GetResult();
        }

        // The last good state: committed for --resume, and the adapter in PEFT's layout at the output's root.
        if (step > start && lastSaved != step)
        {
            CaptureRng(rngBytes);
            checkpointer.Save(step, state, Metadata(options, lora, step, optimizer.StepCount));
        }
        PeftLora.Save(model, lora, options.Output);

        return new FineTuningResult(options.Recipe, Path.GetFullPath(options.Output), directory.Root, start, step - start, total, cancelled, last,
            last?.MeanTokensPerSecond ?? 0, examples, dropped, trainableCount, totalCount, quantized, tokenizer?.Source,
            checkpointer.History, clock.Elapsed) { PackedRows = options.Packing ? packed.Length : null };
    }

    /// <summary>The adapters' parameters under their PEFT key names (without the `base_model.model.` wrapper removed).</summary>
    static List<(string Name, Parameter Parameter)> AdapterParameters(CausalLanguageModel model)
    {
        var list = new List<(string, Parameter)>();
        foreach (var (path, layer) in model.Projections())
            if (layer.Adapter is LoraAdapter adapter)
            {
                list.Add(($"{PeftLora.KeyPrefix}{path}.lora_A.weight", adapter.A.Weight));
                list.Add(($"{PeftLora.KeyPrefix}{path}.lora_B.weight", adapter.B.Weight));
            }
        return list;
    }

    static Dictionary<string, string> Metadata(FineTuningOptions options, LoraConfig lora, long step, long optimizerSteps) => new()
    {
        ["recipe"] = options.Recipe.ToString().ToLowerInvariant(),
        ["step"] = step.ToString(CultureInfo.InvariantCulture),
        ["optimizer_step"] = optimizerSteps.ToString(CultureInfo.InvariantCulture),
        ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
        ["batch_size"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
        ["gradient_accumulation"] = options.GradientAccumulation.ToString(CultureInfo.InvariantCulture),
        ["learning_rate"] = options.LearningRate.ToString("R", CultureInfo.InvariantCulture),
        ["lr_scheduler"] = options.Schedule.ToString().ToLowerInvariant(),
        ["warmup_steps"] = options.WarmupSteps.ToString(CultureInfo.InvariantCulture),
        ["warmup_ratio"] = options.WarmupRatio.ToString("R", CultureInfo.InvariantCulture),
        ["gradient_checkpointing"] = options.GradientCheckpointing ? "true" : "false",
        ["lora_r"] = lora.R.ToString(CultureInfo.InvariantCulture),
        ["lora_alpha"] = lora.Alpha.ToString("R", CultureInfo.InvariantCulture),
        ["lora_targets"] = string.Join(",", lora.TargetModules),
        ["qlora"] = options.QLora ? "true" : "false",
        ["packing"] = options.Packing ? "true" : "false",
        ["dpo_loss"] = FineTuningRequest.DpoLossName(options.DpoLoss),
        ["label_smoothing"] = options.LabelSmoothing.ToString("R", CultureInfo.InvariantCulture),
        [TrainerCheckpoint.AdapterConfigKey] = lora.ToJson(),
    };

    static void CheckCompatible(IReadOnlyDictionary<string, string> saved, FineTuningOptions options, LoraConfig lora, string path)
    {
        var now = Metadata(options, lora, 0, 0);
        foreach (var key in new[] { "recipe", "seed", "batch_size", "gradient_accumulation", "lr_scheduler", "warmup_steps", "warmup_ratio", "lora_r", "lora_alpha", "lora_targets", "qlora", "packing", "dpo_loss", "label_smoothing" })
            if (saved.TryGetValue(key, out var was) && was != now[key])
                throw new ArgumentException($"cannot resume from {path}: it was trained with {key} = {was}, this run has {now[key]}");
    }

    static void CheckVocabulary(long vocab, IReadOnlyList<SftExample> sft, IReadOnlyList<PreferenceExample> preferences, string data)
    {
        int max = sft.SelectMany(e => e.Prompt.Concat(e.Completion))
            .Concat(preferences.SelectMany(e => e.Prompt.Concat(e.Chosen).Concat(e.Rejected))).DefaultIfEmpty(0).Max();
        if (max >= vocab) throw new ArgumentException($"{Path.GetFileName(data)} has token id {max}, beyond the model's vocabulary of {vocab}");
    }

    static double GradNorm(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        double sum = 0;
        foreach (var p in parameters)
            if (p.grad is { } g) sum += g.to(ScalarType.Float64).Power(2).sum().item<double>();
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Dropout's generator is reseeded from (seed, step) before every step, so a resumed run draws the masks a straight
    /// run draws on any device. On the CPU that is the run's own generator (two runs in one process, or a test suite's
    /// parallel classes, do not share a stream); on CUDA it is torch's default CUDA generator, since TorchSharp cannot
    /// read its state to save it and it would otherwise restart from its default seed in every process.
    /// </summary>
    static void SeedStep(Device device, Generator dropout, DropoutReplay replay, long seed, int step)
    {
        long stepSeed = unchecked(seed * 1_000_003 + step);
        replay.Reset(stepSeed);
        if (device.type == DeviceType.CUDA) cuda.manual_seed_all(stepSeed);
        else dropout.manual_seed(stepSeed);
    }

    static int RngBytes()
    {
        using var s = random.get_rng_state();
        return checked((int)s.NumberOfElements);
    }

    static void CaptureRng(byte[] destination)
    {
        using var s = random.get_rng_state();
        s.bytes.CopyTo(destination);
    }
}
