using Ckpt.Training.Data;

namespace Ckpt.Training;

/// <summary>
/// The options of `ckpt finetune` and `#!ckpt-finetune`, each declared once on its property (name, help; the default
/// is the initial value) in the order `--help` lists them, as typed (strings for the enumerations and lists), turned into <see cref="FineTuningOptions"/> in one place so both accept the same spellings and refuse
/// the rest with the same sentence.
/// </summary>
public sealed record FineTuningRequest
{
    public const string DefaultOutput = "finetune-out";

    [Option("--recipe", "sft, dpo, or an unlearning recipe: ga (gradient ascent), kl (GA plus KL to the starting model on --retain) or npo.", Required = true)]
    public required string Recipe { get; init; }

    [Option("--model", "A checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json beside it); in a notebook also a C# variable bound by #!ckpt-load.", Path = true, Required = true)]
    public required string Model { get; init; }

    [Option("--data", "JSONL: unlearning's forget set {text} documents (or SFT records); SFT {prompt,completion}, {instruction,input,output} or conversational {messages}; DPO {prompt,chosen,rejected} (text or message lists); or pre-tokenized *_input_ids.", Path = true, Required = true)]
    public required string Data { get; init; }

    [Option("--retain", "Unlearning: retain-set JSONL (as --data); kl requires it, with ga or npo it adds gamma x its next-token loss.", Path = true)]
    public string? Retain { get; init; }

    [Option("--gamma", "Unlearning: weight of the retain term.")]
    public double Gamma { get; init; } = 1.0;

    [Option("--full", "Train every weight (no adapters); the output is a whole model (model.safetensors + config.json).")]
    public bool Full { get; init; }

    [Option("--eval-data", "Held-out JSONL in the same format: eval_loss (and DPO's eval_rewards/*) every --eval-every steps and after the last.", Path = true)]
    public string? EvalData { get; init; }

    [Option("--eval-every", "Steps between evaluations (0: after the last step only).")]
    public int EvalEvery { get; init; }

    [Option("--qlora", "Store the base linear weights as NF4 (double-quantized) and train LoRA on top.")]
    public bool QLora { get; init; }

    [Option("--gradient-checkpointing", "Recompute each decoder layer in backward instead of keeping its activations (less memory, about one more forward).")]
    public bool GradientCheckpointing { get; init; }

    [Option("--lora-r", "LoRA rank.")]
    public int LoraR { get; init; } = 16;

    [Option("--lora-alpha", "LoRA alpha.")]
    public double LoraAlpha { get; init; } = 32;

    [Option("--lora-dropout", "LoRA dropout.")]
    public double LoraDropout { get; init; }

    [Option("--lora-targets", "Comma-separated module names.")]
    public string LoraTargets { get; init; } = "q_proj,v_proj";

    [Option("--steps", "Optimizer steps.")]
    public int? Steps { get; init; }

    [Option("--epochs", "Passes over the data (instead of --steps).")]
    public double? Epochs { get; init; }

    [Option("--lr", "Learning rate.")]
    public double LearningRate { get; init; } = 2e-4;

    [Option("--warmup", "Linear warm-up steps (from lr 0 at the first step).")]
    public int WarmupSteps { get; init; }

    [Option("--warmup-ratio", "Warm-up as a fraction of the steps (HF's warmup_ratio), when --warmup is 0.")]
    public double WarmupRatio { get; init; }

    [Option("--lr-scheduler", "constant (as QLoRA), linear or cosine (decay to 0, as HF's Trainer).")]
    public string Schedule { get; init; } = "constant";

    [Option("--batch", "Examples per micro-batch (rows with --packing).")]
    public int BatchSize { get; init; } = 8;

    [Option("--grad-accum", "Micro-batches of --batch per optimizer step.")]
    public int GradientAccumulation { get; init; } = 1;

    [Option("--beta", "DPO β; NPO β.")]
    public double Beta { get; init; } = 0.1;

    [Option("--dpo-loss", "DPO loss as TRL's loss_type: sigmoid, ipo (per-token log-probs), hinge or robust.")]
    public string DpoLoss { get; init; } = "sigmoid";

    [Option("--label-smoothing", "DPO label smoothing ε in [0, 0.5]: conservative DPO with sigmoid, or robust DPO.")]
    public double LabelSmoothing { get; init; }

    [Option("--max-length", "Tokens per example, and per row with --packing.")]
    public int MaxLength { get; init; } = 1024;

    [Option("--packing", "SFT: pack whole examples into rows of --max-length tokens (TRL's bfd), each attending only to itself; --batch counts rows.")]
    public bool Packing { get; init; }

    [Option("--template", "auto (Alpaca for instruction records, the chat template for conversations), alpaca or none.")]
    public string Template { get; init; } = "auto";

    [Option("--chat-template", "Jinja chat template file for conversational records (default: the model's tokenizer_config.json chat_template).", Path = true)]
    public string? ChatTemplate { get; init; }

    [Option("--out", "Output folder (the adapter, or with --full the whole model, at its root; resumable state in checkpoints/).", Path = true)]
    public string Output { get; init; } = DefaultOutput;

    [Option("--device", "cpu or cuda.")]
    public string Device { get; init; } = "cpu";

    [Option("--dtype", "Compute dtype of the base: f32, bf16, f16 (default: the checkpoint's).")]
    public string? DType { get; init; }

    [Option("--threads", "CPU threads for LibTorch (default: LibTorch's choice).")]
    public int? Threads { get; init; }

    [Option("--save-every", "Commit resumable state every N steps (async).")]
    public int SaveEvery { get; init; }

    [Option("--resume", "Continue from the newest complete checkpoint in --out.")]
    public bool Resume { get; init; }

    [Option("--overwrite", Outputs.RunFolder.OverwriteHelp)]
    public bool Overwrite { get; init; }

    [Option("--seed", "Seed of the LoRA init and data order.")]
    public long Seed { get; init; } = 42;

    /// <exception cref="ArgumentException">An unknown recipe, template or DPO loss; the message names it.</exception>
    public FineTuningOptions ToOptions() => new()
    {
        Recipe = ParseRecipe(Recipe),
        Model = Model,
        Data = Data,
        EvalData = EvalData,
        Retain = string.IsNullOrWhiteSpace(Retain) ? null : Retain,
        Gamma = Gamma,
        Full = Full,
        EvalEvery = EvalEvery,
        Output = Output,
        QLora = QLora,
        GradientCheckpointing = GradientCheckpointing,
        LoraR = LoraR,
        LoraAlpha = LoraAlpha,
        LoraDropout = LoraDropout,
        LoraTargets = LoraTargets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        Steps = Steps,
        Epochs = Epochs,
        LearningRate = LearningRate,
        WarmupSteps = WarmupSteps,
        WarmupRatio = WarmupRatio,
        Schedule = LearningRateSchedule.Parse(Schedule),
        BatchSize = BatchSize,
        GradientAccumulation = GradientAccumulation,
        Beta = Beta,
        DpoLoss = ParseDpoLoss(DpoLoss),
        LabelSmoothing = LabelSmoothing,
        MaxLength = MaxLength,
        Packing = Packing,
        Template = ParseTemplate(Template),
        ChatTemplate = string.IsNullOrWhiteSpace(ChatTemplate) ? null : ChatTemplate,
        Device = Device,
        DType = DType,
        SaveEvery = SaveEvery,
        Resume = Resume,
        Overwrite = Overwrite,
        Seed = Seed,
        Threads = Threads,
    };

    public static Training.Recipe ParseRecipe(string text) => text.Trim().ToLowerInvariant() switch
    {
        "sft" => Training.Recipe.Sft,
        "dpo" => Training.Recipe.Dpo,
        "ga" => Training.Recipe.Ga,
        "kl" => Training.Recipe.Kl,
        "npo" => Training.Recipe.Npo,
        _ => throw new ArgumentException($"--recipe must be sft, dpo, ga, kl or npo, not '{text}'"),
    };

    public static DpoLossType ParseDpoLoss(string text) => text.Trim().ToLowerInvariant() switch
    {
        "sigmoid" => DpoLossType.Sigmoid,
        "ipo" => DpoLossType.Ipo,
        "hinge" => DpoLossType.Hinge,
        "robust" => DpoLossType.Robust,
        _ => throw new ArgumentException($"--dpo-loss must be sigmoid, ipo, hinge or robust, not '{text}'"),
    };

    /// <summary>TRL's spelling of a loss type, as <see cref="ParseDpoLoss"/> reads it.</summary>
    public static string DpoLossName(DpoLossType loss) => loss.ToString().ToLowerInvariant();

    public static PromptTemplate ParseTemplate(string text) => text.Trim().ToLowerInvariant() switch
    {
        "auto" => PromptTemplate.Auto,
        "alpaca" => PromptTemplate.Alpaca,
        "none" => PromptTemplate.None,
        _ => throw new ArgumentException($"--template must be auto, alpaca or none, not '{text}'"),
    };
}
