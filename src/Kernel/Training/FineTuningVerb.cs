namespace Ckpt.Training;

/// <summary>
/// `ckpt finetune` and `#!ckpt-finetune`: the options are <see cref="FineTuningOptions"/>' properties (each declared
/// there once, its default its initial value), then the surface-only ones; the binding is generated from them, so
/// the run's own record is bound directly, with no request type to copy from.
/// </summary>
public static class FineTuningVerb
{
    public static readonly Verb Definition = Verb.Of<FineTuningOptions>("finetune", "#!ckpt-finetune",
        "Fine-tune a causal LM with LoRA, QLoRA or all weights: SFT (completion-only loss), DPO (reference = adapters off), or unlearn a forget set with GA, KL or NPO (reference = the starting model).",
        [
            VerbOption.CliJson("One JSON line per step, then one summary line."),
            new("--trace", "Write each set-up phase and the first step's phases to stderr (to locate a crash).", OptionKind.Flag) { Surface = OptionSurface.CliOnly },
            VerbOption.MagicName("Bind the run's result to this C# variable."),
        ],
        magicUsage: "#!ckpt-finetune --recipe sft|dpo --model <var|path> --data <file.jsonl> --steps N [--out dir]",
        magicSummary: "Fine-tunes a causal LM with LoRA, QLoRA or all weights (as `ckpt finetune`): SFT, DPO or unlearning (ga, kl, npo), a live loss chart, a summary, the adapter (or with --full the model) in --out; the stop button keeps the last completed step's output.");

    /// <summary>The options, not yet validated (<see cref="FineTuningOptions.Validate"/> looks at the disk).</summary>
    /// <exception cref="ArgumentException">A missing, repeated or malformed value, or an unknown recipe, schedule, DPO
    /// loss or template; the message names the option.</exception>
    public static FineTuningOptions Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => Definition.Bind<FineTuningOptions>(given);
}
