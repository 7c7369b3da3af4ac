using Ckpt.Training.Data;

namespace Ckpt.Training;

/// <summary>
/// The options of `ckpt finetune` and `#!ckpt-finetune` as typed (strings for the enumerations and lists, the same
/// defaults), turned into <see cref="FineTuningOptions"/> in one place so both accept the same spellings and refuse
/// the rest with the same sentence.
/// </summary>
public sealed record FineTuningRequest
{
    public const string DefaultOutput = "finetune-out";

    public required string Recipe { get; init; }
    public required string Model { get; init; }
    public required string Data { get; init; }
    public string? EvalData { get; init; }
    public string? Retain { get; init; }
    public double Gamma { get; init; } = 1.0;
    public bool Full { get; init; }
    public int EvalEvery { get; init; }
    public string Output { get; init; } = DefaultOutput;
    public bool QLora { get; init; }
    public bool GradientCheckpointing { get; init; }
    public int LoraR { get; init; } = 16;
    public double LoraAlpha { get; init; } = 32;
    public double LoraDropout { get; init; }
    /// <summary>Comma-separated module names.</summary>
    public string LoraTargets { get; init; } = "q_proj,v_proj";
    public int? Steps { get; init; }
    public double? Epochs { get; init; }
    public double LearningRate { get; init; } = 2e-4;
    public int WarmupSteps { get; init; }
    public double WarmupRatio { get; init; }
    /// <summary>constant, linear or cosine.</summary>
    public string Schedule { get; init; } = "constant";
    public int BatchSize { get; init; } = 8;
    public int GradientAccumulation { get; init; } = 1;
    public double Beta { get; init; } = 0.1;
    /// <summary>sigmoid, ipo, hinge or robust.</summary>
    public string DpoLoss { get; init; } = "sigmoid";
    public double LabelSmoothing { get; init; }
    public int MaxLength { get; init; } = 1024;
    public bool Packing { get; init; }
    /// <summary>auto, alpaca or none.</summary>
    public string Template { get; init; } = "auto";
    /// <summary>A .jinja chat template file; null uses the model's tokenizer_config.json chat_template.</summary>
    public string? ChatTemplate { get; init; }
    public string Device { get; init; } = "cpu";
    public string? DType { get; init; }
    public int SaveEvery { get; init; }
    public bool Resume { get; init; }
    public bool Overwrite { get; init; }
    public long Seed { get; init; } = 42;
    public int? Threads { get; init; }

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
