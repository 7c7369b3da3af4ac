using Ckpt.Training.Data;

namespace Ckpt.Training;

/// <summary>
/// What a run optimises: SFT and DPO (learning), or one of the unlearning objectives RESTOR compares on a forget set
/// (<see cref="UnlearningRecipe"/>): gradient ascent, GA with a KL term to the starting model on a retain set, and NPO.
/// </summary>
public enum Recipe { Sft, Dpo, Ga, Kl, Npo }

/// <summary>
/// Everything one fine-tuning run needs, validated by <see cref="Validate"/> before any byte is read. Defaults follow
/// TRL/PEFT where the brief does not say otherwise (lr 2e-4 and constant schedule as QLoRA uses, weight decay 0 and
/// max grad norm 1.0 as HF's Trainer, β 0.1 as TRL's DPOConfig). The options of `ckpt finetune` and `#!ckpt-finetune`
/// are declared once here, on the properties they fill, in the order `--help` lists them (<see cref="FineTuningVerb"/>);
/// the others are for C# callers (weight decay, clipping, shuffling, how many checkpoints to keep, a trace).
/// </summary>
public sealed record FineTuningOptions
{
    public const string DefaultOutput = "finetune-out";

    [Option("--recipe", "sft, dpo, or an unlearning recipe: ga (gradient ascent), kl (GA plus KL to the starting model on --retain) or npo.", Required = true)]
    public required Recipe Recipe { get; init; }

    /// <summary>Checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json beside it).</summary>
    [Option("--model", "A checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json beside it); in a notebook also a C# variable bound by #!ckpt-load.", Path = true, Required = true)]
    public required string Model { get; init; }

    /// <summary>JSONL training data (see <see cref="TrainingData"/>).</summary>
    [Option("--data", "JSONL: unlearning's forget set {text} documents (or SFT records); SFT {prompt,completion}, {instruction,input,output} or conversational {messages}; DPO {prompt,chosen,rejected} (text or message lists); or pre-tokenized *_input_ids.", Path = true, Required = true)]
    public required string Data { get; init; }

    /// <summary>
    /// Unlearning only: the retain set (JSONL in the forget set's format, <see cref="Data"/>). KL requires it (γ × the
    /// KL term to the starting model); with GA or NPO it adds γ × its next-token loss, as RESTOR's GA+FT and NPO do.
    /// </summary>
    [Option("--retain", "Unlearning: retain-set JSONL (as --data); kl requires it, with ga or npo it adds gamma x its next-token loss.", Path = true)]
    public string? Retain { get; init; }

    /// <summary>Unlearning: γ, the weight of the retain term (RESTOR/SOUL's gamma; 1 as their configs start from).</summary>
    [Option("--gamma", "Unlearning: weight of the retain term.")]
    public double Gamma { get; init; } = 1.0;

    /// <summary>
    /// Full fine-tuning: every parameter trainable, no adapters; the output is the whole model (model.safetensors and
    /// config.json, loadable as a model) and an unlearning reference is a frozen copy of the starting model.
    /// </summary>
    [Option("--full", "Train every weight (no adapters); the output is a whole model (model.safetensors + config.json).")]
    public bool Full { get; init; }

    /// <summary>Held-out JSONL in the training data's format, evaluated every <see cref="EvalEvery"/> steps and after the last.</summary>
    [Option("--eval-data", "Held-out JSONL in the same format: eval_loss (and DPO's eval_rewards/*) every --eval-every steps and after the last.", Path = true)]
    public string? EvalData { get; init; }

    /// <summary>Steps between evaluations of <see cref="EvalData"/>; 0 evaluates after the last step only.</summary>
    [Option("--eval-every", "Steps between evaluations (0: after the last step only).")]
    public int EvalEvery { get; init; }

    [Option("--qlora", "Store the base linear weights as NF4 (double-quantized) and train LoRA on top.")]
    public bool QLora { get; init; }

    /// <summary>
    /// Recompute each decoder layer in backward instead of keeping its activations (HF's gradient_checkpointing, which
    /// QLoRA trains with): activation memory of one hidden state per layer, for about one more forward per step.
    /// </summary>
    [Option("--gradient-checkpointing", "Recompute each decoder layer in backward instead of keeping its activations (less memory, about one more forward).")]
    public bool GradientCheckpointing { get; init; }

    [Option("--lora-r", "LoRA rank.")]
    public int LoraR { get; init; } = 16;

    [Option("--lora-alpha", "LoRA alpha.")]
    public double LoraAlpha { get; init; } = 32;

    [Option("--lora-dropout", "LoRA dropout.")]
    public double LoraDropout { get; init; }

    [Option("--lora-targets", "Comma-separated module names.", Separator = ',')]
    public IReadOnlyList<string> LoraTargets { get; init; } = ["q_proj", "v_proj"];

    /// <summary>Optimizer steps; when null, <see cref="Epochs"/> passes over the data decide.</summary>
    [Option("--steps", "Optimizer steps.")]
    public int? Steps { get; init; }

    [Option("--epochs", "Passes over the data (instead of --steps).")]
    public double? Epochs { get; init; }

    [Option("--lr", "Learning rate.")]
    public double LearningRate { get; init; } = 2e-4;

    [Option("--warmup", "Linear warm-up steps (from lr 0 at the first step).")]
    public int WarmupSteps { get; init; }

    /// <summary>Warm-up as a fraction of the run's steps (HF's warmup_ratio), used when <see cref="WarmupSteps"/> is 0.</summary>
    [Option("--warmup-ratio", "Warm-up as a fraction of the steps (HF's warmup_ratio), when --warmup is 0.")]
    public double WarmupRatio { get; init; }

    /// <summary>Constant after warm-up by default, as QLoRA trains; linear or cosine decay to 0 as HF's Trainer offers.</summary>
    [Option("--lr-scheduler", "constant (as QLoRA), linear or cosine (decay to 0, as HF's Trainer).")]
    public LrSchedule Schedule { get; init; } = LrSchedule.Constant;

    public double WeightDecay { get; init; }

    /// <summary>Gradient clipping by global norm; null turns it off.</summary>
    public double? MaxGradNorm { get; init; } = 1.0;

    [Option("--batch", "Examples per micro-batch (rows with --packing).")]
    public int BatchSize { get; init; } = 8;

    /// <summary>
    /// Micro-batches of <see cref="BatchSize"/> per optimizer step (effective batch = BatchSize × this). The SFT loss is
    /// normalised by the completion tokens of all of them (HF Trainer's num_items_in_batch) and the DPO loss by all
    /// their pairs, so accumulating k micro-batches gives the gradient of one batch k times as large.
    /// </summary>
    [Option("--grad-accum", "Micro-batches of --batch per optimizer step.")]
    public int GradientAccumulation { get; init; } = 1;

    [Option("--beta", "DPO β; NPO β.")]
    public double Beta { get; init; } = 0.1;

    /// <summary>TRL DPOConfig's loss_type (<see cref="DpoLossType"/>); sigmoid as TRL's default.</summary>
    [Option("--dpo-loss", "DPO loss as TRL's loss_type: sigmoid, ipo (per-token log-probs), hinge or robust.")]
    public DpoLossType DpoLoss { get; init; } = DpoLossType.Sigmoid;

    /// <summary>
    /// TRL DPOConfig's label_smoothing ε in [0, 0.5]: the assumed chance that a preference is flipped, for the sigmoid
    /// (conservative DPO) and robust losses; below 0.5 for robust, which divides by 1 − 2ε.
    /// </summary>
    [Option("--label-smoothing", "DPO label smoothing ε in [0, 0.5]: conservative DPO with sigmoid, or robust DPO.")]
    public double LabelSmoothing { get; init; }

    /// <summary>Tokens per example (prompt + completion; longer ones keep their start); with <see cref="Packing"/> also per packed row.</summary>
    [Option("--max-length", "Tokens per example, and per row with --packing.")]
    public int MaxLength { get; init; } = 1024;

    /// <summary>
    /// SFT only (TRL SFTConfig packing=True, strategy "bfd"): the examples are packed whole, best-fit decreasing, into
    /// rows of at most <see cref="MaxLength"/> tokens, and <see cref="BatchSize"/> and epochs count those rows. Exact,
    /// unlike plain concatenation: each example attends only to itself with positions from 0, so every token's loss
    /// is the one it has unpacked (<see cref="TrainingBatch.Packed"/>). Held-out data is evaluated unpacked.
    /// </summary>
    [Option("--packing", "SFT: pack whole examples into rows of --max-length tokens (TRL's bfd), each attending only to itself; --batch counts rows.")]
    public bool Packing { get; init; }

    /// <summary>
    /// Test seam: with <see cref="Packing"/>, keeps its rows and data order but lays each step's examples out one per
    /// padded row, the unpacked computation that packing must equal.
    /// </summary>
    internal bool UnpackPackedRows { get; init; }

    [Option("--template", "auto (Alpaca for instruction records, the chat template for conversations), alpaca or none.")]
    public PromptTemplate Template { get; init; } = PromptTemplate.Auto;

    /// <summary>A Jinja chat template file for conversational records, in place of the model's tokenizer_config.json chat_template.</summary>
    [Option("--chat-template", "Jinja chat template file for conversational records (default: the model's tokenizer_config.json chat_template).", Path = true)]
    public string? ChatTemplate { get; init; }

    public bool Shuffle { get; init; } = true;

    /// <summary>Output folder: the PEFT adapter (or with <see cref="Full"/> the whole model) at its root, resumable state under `checkpoints/`.</summary>
    [Option("--out", "Output folder (the adapter, or with --full the whole model, at its root; resumable state in checkpoints/).", Path = true, Default = DefaultOutput)]
    public required string Output { get; init; }

    /// <summary>"cpu", "cuda" or "cuda:N" (<see cref="ComputeDevice"/>).</summary>
    [Option("--device", ComputeDevice.Help)]
    public string Device { get; init; } = "cpu";

    /// <summary>Compute dtype of the base model ("f32", "bf16", "f16"); null keeps the checkpoint's.</summary>
    [Option("--dtype", DTypeNames.ComputeHelp)]
    public string? DType { get; init; }

    /// <summary>
    /// LibTorch intra-op CPU threads for the whole process (torch.set_num_threads); null leaves LibTorch's choice. On a
    /// machine shared with other busy processes, fewer threads than cores avoids OpenMP threads spinning against each other.
    /// </summary>
    [Option("--threads", LibTorchThreads.Help)]
    public int? Threads { get; init; }

    /// <summary>Commit resumable state every N steps through the async checkpointer; 0 saves only at the end (or on cancel).</summary>
    [Option("--save-every", "Commit resumable state every N steps (async).")]
    public int SaveEvery { get; init; }

    /// <summary>How many committed steps to keep under checkpoints/; null keeps all.</summary>
    public int? KeepLast { get; init; } = 2;

    /// <summary>Continue from the newest complete checkpoint under the output folder, if there is one.</summary>
    [Option("--resume", "Continue from the newest complete checkpoint in --out.")]
    public bool Resume { get; init; }

    /// <summary>Lets a run replace a finished run in the output folder (<see cref="Outputs.RunFolder"/>).</summary>
    [Option("--overwrite", Outputs.RunFolder.OverwriteHelp)]
    public bool Overwrite { get; init; }

    /// <summary>Seeds the LoRA init, the data order and torch's generator (dropout).</summary>
    [Option("--seed", "Seed of the LoRA init and data order.")]
    public long Seed { get; init; } = 42;

    /// <summary>
    /// Receives one line per phase (data read, model loaded, adapters attached, then forward, backward, clipping and
    /// optimizer step of the first step): which phase a crash on a new device happened in, without a debugger.
    /// </summary>
    public Action<string>? Trace { get; init; }

    /// <summary>Throws ArgumentException naming the first bad option, or CheckpointFormatException for an output that is not safe to write.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Model)) throw new ArgumentException("--model is required");
        if (string.IsNullOrWhiteSpace(Data)) throw new ArgumentException("--data is required");
        if (string.IsNullOrWhiteSpace(Output)) throw new ArgumentException("--out is required");
        if (!File.Exists(Model) && !Directory.Exists(Model)) throw new ArgumentException($"model {Model} does not exist");
        if (!File.Exists(Data)) throw new ArgumentException($"data file {Data} does not exist");
        if (EvalData is not null && !File.Exists(EvalData)) throw new ArgumentException($"eval data file {EvalData} does not exist");
        if (EvalEvery < 0) throw new ArgumentException("--eval-every must not be negative");
        if (ChatTemplate is not null && !File.Exists(ChatTemplate)) throw new ArgumentException($"chat template file {ChatTemplate} does not exist");
        if (Steps is null == Epochs is null) throw new ArgumentException("give exactly one of --steps and --epochs");
        if (Steps is <= 0) throw new ArgumentException("--steps must be positive");
        if (Epochs is { } e && !(e > 0)) throw new ArgumentException("--epochs must be positive");
        if (LoraR <= 0) throw new ArgumentException("--lora-r must be positive");
        if (!(LoraAlpha > 0)) throw new ArgumentException("--lora-alpha must be positive");
        if (LoraDropout is < 0 or >= 1) throw new ArgumentException("--lora-dropout must be in [0, 1)");
        if (LoraTargets.Count == 0 || LoraTargets.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("--lora-targets needs module names, e.g. q_proj,v_proj");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException("--lr must be positive");
        if (WarmupSteps < 0) throw new ArgumentException("--warmup must not be negative");
        if (WarmupRatio is < 0 or >= 1 || double.IsNaN(WarmupRatio)) throw new ArgumentException($"--warmup-ratio {WarmupRatio} is outside [0, 1)");
        if (WeightDecay < 0) throw new ArgumentException("weight decay must not be negative");
        if (MaxGradNorm is <= 0) throw new ArgumentException("max grad norm must be positive");
        if (BatchSize <= 0) throw new ArgumentException("--batch must be positive");
        if (GradientAccumulation <= 0) throw new ArgumentException("--grad-accum must be positive");
        if (!(Beta > 0)) throw new ArgumentException("--beta must be positive");
        if (LabelSmoothing is < 0 or > 0.5 || double.IsNaN(LabelSmoothing)) throw new ArgumentException($"--label-smoothing {LabelSmoothing} is outside [0, 0.5]");
        if (Retain is not null && !File.Exists(Retain)) throw new ArgumentException($"retain data file {Retain} does not exist");
        if (Recipe == Recipe.Kl && Retain is null) throw new ArgumentException("--recipe kl needs --retain: its KL term to the starting model is taken on the retain set");
        if (Retain is not null && Recipe is Recipe.Sft or Recipe.Dpo) throw new ArgumentException("--retain is for the unlearning recipes (ga, kl, npo)");
        if (!(Gamma >= 0) || double.IsInfinity(Gamma)) throw new ArgumentException("--gamma must not be negative");
        if (Full && QLora) throw new ArgumentException("--full trains every weight, which NF4 (--qlora) would freeze; give one of them");
        if (Recipe != Recipe.Dpo && (DpoLoss != DpoLossType.Sigmoid || LabelSmoothing != 0))
            throw new ArgumentException("--dpo-loss and --label-smoothing are for DPO only");
        if (LabelSmoothing > 0 && DpoLoss is DpoLossType.Hinge or DpoLossType.Ipo)
            throw new ArgumentException($"--label-smoothing is for the sigmoid and robust losses, not {DpoLoss.TrlName()} (TRL ignores it there with a warning)");
        if (DpoLoss == DpoLossType.Robust && LabelSmoothing == 0.5)
            throw new ArgumentException("--label-smoothing must be below 0.5 for the robust loss, which divides by 1 - 2ε");
        if (MaxLength < 2) throw new ArgumentException("--max-length must be at least 2");
        if (Packing && Recipe != Recipe.Sft)
            throw new ArgumentException("--packing is for SFT only: DPO scores each chosen and rejected completion in its own row against the same prompt, so its pairs are not packed");
        LibTorchThreads.Check(Threads);
        if (SaveEvery < 0) throw new ArgumentException("--save-every must not be negative");
        if (KeepLast is <= 0) throw new ArgumentException("keep-last must be positive");
        ComputeDevice.Parse(Device);
        Tensors.DTypeNames.Compute(DType);
        // Last, as it is the only check that looks at the disk beyond existence: the output folder must be new, or this run's own.
        Outputs.RunFolder.Check(Output, Inputs, Resume, Overwrite);
    }

    /// <summary>The files the run reads, which its output may not overlap.</summary>
    internal IEnumerable<string?> Inputs => [Model, Data, EvalData, ChatTemplate, Retain];
}
