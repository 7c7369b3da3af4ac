using Microsoft.DotNet.Interactive.Commands;

namespace Ckpt.Extension.Training;

/// <summary>
/// `#!ckpt-finetune --recipe sft|dpo --model &lt;var|path&gt; --data &lt;file.jsonl&gt; [...]`: the options of
/// `ckpt finetune`, with a live loss chart. Nulls take the CLI's defaults (<see cref="Ckpt.Training.FineTuningRequest"/>).
/// </summary>
public sealed class FineTuneModel : KernelDirectiveCommand
{
    public string Recipe { get; set; } = "";
    /// <summary>A C# variable bound by `#!ckpt-load`, or a checkpoint file or folder.</summary>
    public string Model { get; set; } = "";
    public string Data { get; set; } = "";
    public bool QLora { get; set; }
    public bool GradientCheckpointing { get; set; }
    public int? LoraR { get; set; }
    public double? LoraAlpha { get; set; }
    public double? LoraDropout { get; set; }
    public string? LoraTargets { get; set; }
    public string? EvalData { get; set; }
    public int? EvalEvery { get; set; }
    public int? Steps { get; set; }
    public double? Epochs { get; set; }
    public double? Lr { get; set; }
    public int? Warmup { get; set; }
    public double? WarmupRatio { get; set; }
    public string? LrScheduler { get; set; }
    public int? Batch { get; set; }
    public int? GradAccum { get; set; }
    public double? Beta { get; set; }
    public string? DpoLoss { get; set; }
    public double? LabelSmoothing { get; set; }
    public int? MaxLength { get; set; }
    public bool Packing { get; set; }
    public string? Template { get; set; }
    public string? ChatTemplate { get; set; }
    public string? Out { get; set; }
    public string? Device { get; set; }
    public string? DType { get; set; }
    public int? SaveEvery { get; set; }
    public bool Resume { get; set; }
    /// <summary>Lets --out replace a finished run Ckpt wrote (<see cref="Outputs.RunFolder"/>).</summary>
    public bool Overwrite { get; set; }
    public long? Seed { get; set; }
    public int? Threads { get; set; }
    /// <summary>Binds the <see cref="Ckpt.Training.FineTuningResult"/> to this C# variable.</summary>
    public string? Name { get; set; }
}
