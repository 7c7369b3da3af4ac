using System.Diagnostics;
using Ckpt.Formats.Safetensors;
using Ckpt.Models;
using Ckpt.Resilience;
using Ckpt.Training.Data;
using Ckpt.Training.Data.ChatTemplates;
using TorchSharp.Modules;

namespace Ckpt.Training;

/// <summary>
/// The steps every recipe shares, in the order a recipe calls them: <see cref="Open"/> (validate, seed, tokenizer),
/// <see cref="LoadModel"/>, <see cref="QuantizeBase"/> (QLoRA), <see cref="MakeTrainable"/> (fresh LoRA adapters, or
/// every weight with <c>--full</c>), <see cref="OpenOutput"/> (the run folder and <c>--resume</c>), <see cref="Train"/>
/// (the optimizer loop around the recipe's own loss, with clipping, evaluation, progress and async checkpoints) and
/// <see cref="SaveModel"/> (the PEFT adapter, or the whole model). A recipe (<see cref="SftRecipe"/>, <see cref="DpoRecipe"/>,
/// <see cref="UnlearningRecipe"/>) reads its data, computes its loss and says which metrics it logs; nothing else.
/// </summary>
internal sealed class RecipeSession : IDisposable
{
    public const string CheckpointsFolder = "checkpoints";
    /// <summary>A full fine-tune's output: the whole model as one safetensors file beside its config.json.</summary>
    public const string ModelWeightsFile = "model.safetensors";
    public const string ModelConfigFile = "config.json";
    /// <summary>Files of the model folder a full fine-tune's output carries over, so that it loads (and tokenizes) as the input did.</summary>
    static readonly string[] CarriedFiles = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "chat_template.jinja"];
    const string RngStateName = "rng.cpu";

    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly CancellationToken _cancellationToken;
    Checkpoint? _checkpoint;
    CausalLanguageModel? _model, _frozenReference;
    Generator? _dropoutGenerator;
    DropoutReplay? _dropoutReplay;
    LoraAdamW? _optimizer;
    readonly List<StateTensor> _state = [];
    byte[] _rngBytes = [];
    CheckpointDirectory? _directory;
    AsyncCheckpointer? _checkpointer;

    RecipeSession(FineTuningOptions options, CancellationToken cancellationToken)
    {
        Options = options;
        _cancellationToken = cancellationToken;
        Device = ComputeDevice.Parse(options.Device).ToTorch();
        ModelFolder = Directory.Exists(options.Model) ? options.Model : Path.GetDirectoryName(Path.GetFullPath(options.Model))!;
    }

    public FineTuningOptions Options { get; }
    public Device Device { get; }
    public string ModelFolder { get; }
    public TextTokenizer? Tokenizer { get; private set; }
    public SpecialTokens Special { get; private set; } = new(null, null, null);
    public ChatTemplate? ChatTemplate { get; private set; }
    public CausalLanguageModel Model => _model ?? throw new InvalidOperationException("LoadModel first");
    public QuantizedBaseReport? Quantized { get; private set; }
    /// <summary>The adapters' config; null for a full fine-tune.</summary>
    public LoraConfig? Lora { get; private set; }
    public IReadOnlyList<(string Name, Parameter Parameter)> Trainable { get; private set; } = [];
    public long TrainableCount => Trainable.Sum(p => p.Parameter.numel());
    public long TotalCount => Model.parameters().Sum(p => p.numel()) + (Quantized?.Parameters ?? 0);
    /// <summary>The step a resumed run starts from (0 for a fresh one).</summary>
    public int Start { get; private set; }
    public string CheckpointRoot => _directory?.Root ?? throw new InvalidOperationException("OpenOutput first");
    public IReadOnlyList<SaveRecord> Saves => _checkpointer?.History ?? [];
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>
    /// Padding is masked and unlabelled, so any id in the vocabulary will do; a config may name one outside it, which the
    /// embedding cannot look up: a tiny model's (the GPT-2 fixture keeps GPT-2's EOS 50256 with a vocabulary of 512)
    /// or early HF LLaMA conversions' "pad_token_id": -1.
    /// </summary>
    public int PadId => Special.PadOrDefault is var pad && pad >= 0 && pad < Model.Config.VocabSize ? pad : 0;

    /// <summary>Validates the options, sets threads and the seed, and opens the model folder's tokenizer and chat template.</summary>
    public static RecipeSession Open(FineTuningOptions options, CancellationToken cancellationToken)
    {
        options.Validate();
        var session = new RecipeSession(options, cancellationToken);
        LibTorchThreads.Apply(options.Threads);
        manual_seed(options.Seed);
        session.Tokenizer = TextTokenizer.TryOpen(session.ModelFolder);
        session.Special = session.Tokenizer?.Special ?? SpecialTokens.Read(session.ModelFolder);
        session.ChatTemplate = options.ChatTemplate is { } chatFile ? ChatTemplate.FromFile(chatFile, session.ModelFolder) : ChatTemplate.FromModelFolder(session.ModelFolder);
        return session;
    }

    public void Trace(string phase) => Options.Trace?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds,8:F2} s  {phase}"));

    public void LoadModel()
    {
        _checkpoint = Checkpoint.Open(Options.Model, _cancellationToken);
        _model = CausalLanguageModel.Load(_checkpoint, device: Device, dtype: DTypeNames.Compute(Options.DType), cancellationToken: _cancellationToken);
        Trace($"model: {Model.Config.GetType().Name}, {Model.parameters().Sum(p => p.numel()):N0} parameters on {Device}");
    }

    /// <summary>Refuses data holding a token id the model's embedding cannot look up.</summary>
    public void CheckVocabulary(IEnumerable<int> ids, string data)
    {
        int max = ids.DefaultIfEmpty(0).Max();
        if (max >= Model.Config.VocabSize) throw new ArgumentException($"{Path.GetFileName(data)} has token id {max}, beyond the model's vocabulary of {Model.Config.VocabSize}");
    }

    public void QuantizeBase()
    {
        if (!Options.QLora) return;
        Quantized = QLora.QuantizeBase(Model);
        Trace($"NF4 base: {Quantized.Layers} layers, {Quantized.BytesPerParameter:F4} bytes/param");
    }

    /// <summary>Fresh LoRA adapters on the targeted layers (PEFT's init), or with <c>--full</c> every weight; then AdamW over them.</summary>
    public void MakeTrainable()
    {
        var model = Model;
        if (Options.Full)
        {
            var all = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
            foreach (var (_, p) in all) p.requires_grad = true;
            Trainable = all;
        }
        else
        {
            Lora = new LoraConfig
            {
                R = Options.LoraR, Alpha = Options.LoraAlpha, Dropout = Options.LoraDropout, TargetModules = Options.LoraTargets,
                FanInFanOut = model.Config is Gpt2Config, BaseModelNameOrPath = Options.Model,
            };
            PeftLora.Attach(model, Lora, seed: Options.Seed);
        }
        _dropoutGenerator = new Generator((ulong)Options.Seed, CPU);
        foreach (var (_, layer) in model.Projections())
            if (layer.Adapter is LoraAdapter adapter) adapter.DropoutGenerator = _dropoutGenerator;
        _dropoutReplay = new DropoutReplay(Device, _dropoutGenerator);
        model.GradientCheckpointing = Options.GradientCheckpointing;
        model.CheckpointRandom = Options.LoraDropout > 0 ? _dropoutReplay : null;
        if (!Options.Full) Trainable = AdapterParameters(model);
        _optimizer = new LoraAdamW(Trainable, weightDecay: Options.WeightDecay);
        Trace((Lora is { } lora ? $"LoRA r={lora.R} on {string.Join(",", lora.TargetModules)}" : "full fine-tuning")
            + $": {Trainable.Count} tensors, {TrainableCount:N0} parameters" + (Options.GradientCheckpointing ? ", gradient checkpointing on" : ""));

        _rngBytes = new byte[RngBytes()];
        _state.AddRange(Trainable.Select(p => StateTensor.FromTorch(p.Name, p.Parameter)));
        _state.AddRange(_optimizer.State().Select(s => StateTensor.FromTorch(s.Name, s.Tensor)));
        _state.Add(StateTensor.FromBytes(RngStateName, DType.U8, _rngBytes, _rngBytes.Length));
    }

    /// <summary>
    /// The starting model, for a recipe that compares against it (DPO, KL, NPO): with adapters it is the same model with
    /// them switched off; with <c>--full</c> a frozen copy is loaded once, here. Call after <see cref="MakeTrainable"/>.
    /// </summary>
    public void KeepReference()
    {
        if (!Options.Full || _frozenReference is not null) return;
        _frozenReference = CausalLanguageModel.Load(_checkpoint!, device: Device, dtype: DTypeNames.Compute(Options.DType), cancellationToken: _cancellationToken);
        _frozenReference.eval();
        Trace("reference: a frozen copy of the starting model");
    }

    /// <summary>The frozen copy of the starting model a <c>--full</c> run keeps (<see cref="KeepReference"/>); null with adapters.</summary>
    public CausalLanguageModel? FrozenReference => _frozenReference;

    /// <summary>Runs <paramref name="forward"/> on the starting model without recording gradients (see <see cref="KeepReference"/>).</summary>
    public T Reference<T>(Func<CausalLanguageModel, T> forward)
    {
        using var noGrad = no_grad();
        if (_frozenReference is { } frozen) return forward(frozen);
        if (Options.Full) throw new InvalidOperationException("KeepReference first");
        using (PeftLora.Disabled(Model)) return forward(Model);
    }

    /// <summary>Prepares the output folder, and with <c>--resume</c> restores the newest complete checkpoint into the live state.</summary>
    public void OpenOutput()
    {
        var entries = new List<string> { CheckpointsFolder };
        if (Options.Full) entries.AddRange([ModelWeightsFile, ModelConfigFile, .. CarriedFiles.Where(f => File.Exists(Path.Combine(ModelFolder, f)))]);
        else entries.AddRange([PeftLora.WeightsFile, PeftLora.ConfigFile]);
        Outputs.RunFolder.Open(Options.Output, Options.Inputs, Options.Resume, Options.Overwrite, entries);
        _directory = new CheckpointDirectory(Path.Combine(Options.Output, CheckpointsFolder)) { KeepLast = Options.KeepLast };
        if (Options.Resume && _directory.Newest() is { } newest)
        {
            var metadata = TrainerCheckpoint.Restore(newest, _state);
            CheckCompatible(metadata, newest.Path);
            Start = checked((int)newest.Step);
            _optimizer!.StepCount = long.Parse(metadata["optimizer_step"], CultureInfo.InvariantCulture);
            using var rng = tensor(_rngBytes, ScalarType.Byte);
            random.set_rng_state(rng);
        }
        _directory.RemoveAbandoned();
    }

    /// <summary>Optimizer steps of the run: <c>--steps</c>, or <c>--epochs</c> passes over <paramref name="perEpoch"/> items in batches of batch × accumulation.</summary>
    public int TotalSteps(int perEpoch) =>
        Options.Steps ?? checked((int)Math.Ceiling(Options.Epochs!.Value * perEpoch / ((double)Options.BatchSize * Options.GradientAccumulation)));

    /// <summary>What one optimizer step's forward and backward passes gave: the loss, the recipe's metrics, and the tokens it saw.</summary>
    public sealed record StepOutcome(double Loss, IReadOnlyDictionary<string, double> Metrics, long Tokens, long PaddingTokens);

    /// <summary>
    /// The optimizer loop from <see cref="Start"/> to <paramref name="total"/>. Each step: reseed dropout from (seed, step),
    /// zero the gradients, let <paramref name="forwardBackward"/> build the step's batches and back-propagate its loss
    /// (normalised over all its micro-batches), clip, wait for a lazy snapshot still reading the weights, take the
    /// AdamW step, evaluate when due (<paramref name="evaluate"/>, null without held-out data), report, and commit the
    /// resumable state every <c>SaveEvery</c> steps. At the end, or when cancelled between steps, the state is committed
    /// once more. Returns the steps done, the last report and whether it was cancelled.
    /// </summary>
    public (int Step, TrainingProgress? Last, bool Cancelled, double TokensPerSecond) Train(int total, int perEpoch,
        Func<int, bool, StepOutcome> forwardBackward, Func<IReadOnlyDictionary<string, double>>? evaluate, IProgress<TrainingProgress>? progress)
    {
        var optimizer = _optimizer!;
        _checkpointer = new AsyncCheckpointer(_directory!, new TrainerCheckpoint.Writer());
        TrainingProgress? last = null;
        long lastSaved = -1, tokensSeen = 0;
        double stepSeconds = 0;
        int step = Start;
        bool cancelled = false;
        try
        {
            for (; step < total; step++)
            {
                if (_cancellationToken.IsCancellationRequested) { cancelled = true; break; }
                long began = Stopwatch.GetTimestamp();
                bool first = step == Start;
                using var scope = NewDisposeScope();
                SeedStep(step);
                double lr = LearningRateSchedule.At(Options, step, total);
                optimizer.ZeroGrad();

                var outcome = forwardBackward(step, first);
                double gradNorm = Options.MaxGradNorm is double max
                    ? nn.utils.clip_grad_norm_(optimizer.Parameters, max)
                    : GradNorm(optimizer.Parameters);
                if (first) Trace($"gradient norm {gradNorm:G4}");

                // A lazy snapshot of the previous save may still be reading the weights: wait before changing them.
                _checkpointer.WaitForSnapshotAsync().AsTask().GetAwaiter().GetResult();
                optimizer.Step(lr);
                if (Device.type == DeviceType.CUDA) cuda.synchronize();
                if (first) Trace("optimizer step");

                double seconds = Stopwatch.GetElapsedTime(began).TotalSeconds;
                stepSeconds += seconds;
                var metrics = outcome.Metrics.ToDictionary(kv => kv.Key, kv => kv.Value);
                if (evaluate is not null && ((Options.EvalEvery > 0 && (step + 1) % Options.EvalEvery == 0) || step + 1 == total))
                {
                    // Not cancellable: a stop request ends the run after this step, with its weights saved.
                    foreach (var (key, value) in evaluate()) metrics[key] = value;
                    if (first) Trace("evaluation");
                }
                tokensSeen += outcome.Tokens;
                int completed = step + 1;
                last = new TrainingProgress(completed, total, (double)completed * Options.BatchSize * Options.GradientAccumulation / perEpoch, outcome.Loss, lr,
                    gradNorm, outcome.Tokens, outcome.Tokens / seconds, _clock.Elapsed, metrics) { PaddingTokens = outcome.PaddingTokens, MeanTokensPerSecond = tokensSeen / stepSeconds };
                progress?.Report(last);

                if (Options.SaveEvery > 0 && completed % Options.SaveEvery == 0 && completed < total)
                {
                    CaptureRng();
                    _checkpointer.SaveAsync(completed, _state, Metadata(completed, optimizer.StepCount), SnapshotMode.Lazy)
                        .AsTask().GetAwaiter().GetResult();
                    lastSaved = completed;
                }
            }
        }
        finally
        {
            _checkpointer.WaitForSnapshotAsync().AsTask().GetAwaiter().GetResult();
            _checkpointer.FlushAsync().GetAwaiter().GetResult();
        }

        // The last good state, committed for --resume.
        if (step > Start && lastSaved != step)
        {
            CaptureRng();
            _checkpointer.Save(step, _state, Metadata(step, optimizer.StepCount));
        }
        return (step, last, cancelled, last?.MeanTokensPerSecond ?? 0);
    }

    /// <summary>
    /// The trained weights at the output's root: the adapter in PEFT's layout, or with <c>--full</c> the whole model
    /// (model.safetensors in the parameters' dtype, with the input's config.json and tokenizer files) that loads as a model.
    /// Not cancellable: a run stopped between steps still leaves the weights of its last step.
    /// </summary>
    public void SaveModel()
    {
        if (Lora is { } lora)
        {
            PeftLora.Save(Model, lora, Options.Output);
            return;
        }
        var sources = Model.named_parameters()
            .Select(p => { var (name, parameter) = (p.name, p.parameter); return new TensorSource(name, TorchInterop.ToDType(parameter.dtype), parameter.shape, () => parameter.ToTensorData(name)); })
            .ToList();
        SafetensorsWriter.Write(Path.Combine(Options.Output, ModelWeightsFile), sources, new Dictionary<string, string> { ["format"] = "pt" });
        var config = Path.Combine(ModelFolder, ModelConfigFile);
        DurableFiles.WriteAtomically(Path.Combine(Options.Output, ModelConfigFile), File.ReadAllBytes(config));
        foreach (var name in CarriedFiles)
            if (File.Exists(Path.Combine(ModelFolder, name)))
                DurableFiles.WriteAtomically(Path.Combine(Options.Output, name), File.ReadAllBytes(Path.Combine(ModelFolder, name)));
    }

    /// <summary>The adapters' parameters under their PEFT key names (with the `base_model.model.` wrapper).</summary>
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

    Dictionary<string, string> Metadata(long step, long optimizerSteps)
    {
        var o = Options;
        var metadata = new Dictionary<string, string>
        {
            ["recipe"] = o.Recipe.ToString().ToLowerInvariant(),
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["optimizer_step"] = optimizerSteps.ToString(CultureInfo.InvariantCulture),
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["batch_size"] = o.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["gradient_accumulation"] = o.GradientAccumulation.ToString(CultureInfo.InvariantCulture),
            ["learning_rate"] = o.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["lr_scheduler"] = o.Schedule.ToString().ToLowerInvariant(),
            ["warmup_steps"] = o.WarmupSteps.ToString(CultureInfo.InvariantCulture),
            ["warmup_ratio"] = o.WarmupRatio.ToString("R", CultureInfo.InvariantCulture),
            ["gradient_checkpointing"] = o.GradientCheckpointing ? "true" : "false",
        };
        if (Lora is { } lora)
        {
            metadata["lora_r"] = lora.R.ToString(CultureInfo.InvariantCulture);
            metadata["lora_alpha"] = lora.Alpha.ToString("R", CultureInfo.InvariantCulture);
            metadata["lora_targets"] = string.Join(",", lora.TargetModules);
        }
        metadata["qlora"] = o.QLora ? "true" : "false";
        metadata["packing"] = o.Packing ? "true" : "false";
        metadata["dpo_loss"] = o.DpoLoss.TrlName();
        metadata["label_smoothing"] = o.LabelSmoothing.ToString("R", CultureInfo.InvariantCulture);
        metadata["full"] = o.Full ? "true" : "false";
        if (o.Recipe is Recipe.Ga or Recipe.Kl or Recipe.Npo)
        {
            metadata["gamma"] = o.Gamma.ToString("R", CultureInfo.InvariantCulture);
            metadata["beta"] = o.Beta.ToString("R", CultureInfo.InvariantCulture);
            metadata["retain"] = o.Retain is null ? "false" : "true";
        }
        if (Lora is { } config) metadata[TrainerCheckpoint.AdapterConfigKey] = config.ToJson();
        return metadata;
    }

    static readonly string[] CompatibleKeys = ["recipe", "seed", "batch_size", "gradient_accumulation", "lr_scheduler", "warmup_steps", "warmup_ratio",
        "lora_r", "lora_alpha", "lora_targets", "qlora", "packing", "dpo_loss", "label_smoothing", "full", "gamma", "beta", "retain"];

    void CheckCompatible(IReadOnlyDictionary<string, string> saved, string path)
    {
        var now = Metadata(0, 0);
        foreach (var key in CompatibleKeys)
            if (saved.TryGetValue(key, out var was) && was != now.GetValueOrDefault(key, "(none)"))
                throw new ArgumentException($"cannot resume from {path}: it was trained with {key} = {was}, this run has {now.GetValueOrDefault(key, "(none)")}");
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
    void SeedStep(int step)
    {
        long stepSeed = unchecked(Options.Seed * 1_000_003 + step);
        _dropoutReplay!.Reset(stepSeed);
        if (Device.type == DeviceType.CUDA) cuda.manual_seed_all(stepSeed);
        else _dropoutGenerator!.manual_seed(stepSeed);
    }

    static int RngBytes()
    {
        using var s = random.get_rng_state();
        return checked((int)s.NumberOfElements);
    }

    void CaptureRng()
    {
        using var s = random.get_rng_state();
        s.bytes.CopyTo(_rngBytes);
    }

    public void Dispose()
    {
        _optimizer?.Dispose();
        _dropoutGenerator?.Dispose();
        _frozenReference?.Dispose();
        _model?.Dispose();
        _checkpoint?.Dispose();
        Tokenizer?.Dispose();
    }
}
