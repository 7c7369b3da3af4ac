using System.Globalization;
using Ckpt.Verbs;

namespace Ckpt.Training;

/// <summary>
/// `ckpt finetune` and `#!ckpt-finetune`: every option once, its default taken from <see cref="FineTuningRequest"/>'s
/// own initialisers (so `LoraR = 16` is written there only), and the one binding from raw values to the request.
/// </summary>
public static class FineTuningVerb
{
    static readonly FineTuningRequest Defaults = new() { Recipe = "", Model = "", Data = "" };

    static string Text(double v) => v.ToString(CultureInfo.InvariantCulture);

    public static readonly Verb Definition = new("finetune", "#!ckpt-finetune",
        "Fine-tune a causal LM with LoRA, QLoRA or all weights: SFT (completion-only loss), DPO (reference = adapters off), or unlearn a forget set with GA, KL or NPO (reference = the starting model).",
        [
            new("--recipe", "sft, dpo, or an unlearning recipe: ga (gradient ascent), kl (GA plus KL to the starting model on --retain) or npo.") { Required = true },
            new("--model", "A checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json beside it); in a notebook also a C# variable bound by #!ckpt-load.", OptionKind.Path) { Required = true },
            new("--data", "JSONL: unlearning's forget set {text} documents (or SFT records); SFT {prompt,completion}, {instruction,input,output} or conversational {messages}; DPO {prompt,chosen,rejected} (text or message lists); or pre-tokenized *_input_ids.", OptionKind.Path) { Required = true },
            new("--retain", "Unlearning: retain-set JSONL (as --data); kl requires it, with ga or npo it adds gamma x its next-token loss.", OptionKind.Path),
            new("--gamma", "Unlearning: weight of the retain term.", OptionKind.Number) { Default = Text(Defaults.Gamma) },
            new("--full", "Train every weight (no adapters); the output is a whole model (model.safetensors + config.json).", OptionKind.Flag),
            new("--eval-data", "Held-out JSONL in the same format: eval_loss (and DPO's eval_rewards/*) every --eval-every steps and after the last.", OptionKind.Path),
            new("--eval-every", "Steps between evaluations (0: after the last step only).", OptionKind.Integer) { Default = Text(Defaults.EvalEvery) },
            new("--qlora", "Store the base linear weights as NF4 (double-quantized) and train LoRA on top.", OptionKind.Flag),
            new("--gradient-checkpointing", "Recompute each decoder layer in backward instead of keeping its activations (less memory, about one more forward).", OptionKind.Flag),
            new("--lora-r", "LoRA rank.", OptionKind.Integer) { Default = Text(Defaults.LoraR) },
            new("--lora-alpha", "LoRA alpha.", OptionKind.Number) { Default = Text(Defaults.LoraAlpha) },
            new("--lora-dropout", "LoRA dropout.", OptionKind.Number) { Default = Text(Defaults.LoraDropout) },
            new("--lora-targets", "Comma-separated module names.") { Default = Defaults.LoraTargets },
            new("--steps", "Optimizer steps.", OptionKind.Integer),
            new("--epochs", "Passes over the data (instead of --steps).", OptionKind.Number),
            new("--lr", "Learning rate.", OptionKind.Number) { Default = Text(Defaults.LearningRate) },
            new("--warmup", "Linear warm-up steps (from lr 0 at the first step).", OptionKind.Integer) { Default = Text(Defaults.WarmupSteps) },
            new("--warmup-ratio", "Warm-up as a fraction of the steps (HF's warmup_ratio), when --warmup is 0.", OptionKind.Number) { Default = Text(Defaults.WarmupRatio) },
            new("--lr-scheduler", "constant (as QLoRA), linear or cosine (decay to 0, as HF's Trainer).") { Default = Defaults.Schedule },
            new("--batch", "Examples per micro-batch (rows with --packing).", OptionKind.Integer) { Default = Text(Defaults.BatchSize) },
            new("--grad-accum", "Micro-batches of --batch per optimizer step.", OptionKind.Integer) { Default = Text(Defaults.GradientAccumulation) },
            new("--beta", "DPO β; NPO β.", OptionKind.Number) { Default = Text(Defaults.Beta) },
            new("--dpo-loss", "DPO loss as TRL's loss_type: sigmoid, ipo (per-token log-probs), hinge or robust.") { Default = Defaults.DpoLoss },
            new("--label-smoothing", "DPO label smoothing ε in [0, 0.5]: conservative DPO with sigmoid, or robust DPO.", OptionKind.Number) { Default = Text(Defaults.LabelSmoothing) },
            new("--max-length", "Tokens per example, and per row with --packing.", OptionKind.Integer) { Default = Text(Defaults.MaxLength) },
            new("--packing", "SFT: pack whole examples into rows of --max-length tokens (TRL's bfd), each attending only to itself; --batch counts rows.", OptionKind.Flag),
            new("--template", "auto (Alpaca for instruction records, the chat template for conversations), alpaca or none.") { Default = Defaults.Template },
            new("--chat-template", "Jinja chat template file for conversational records (default: the model's tokenizer_config.json chat_template).", OptionKind.Path),
            new("--out", "Output folder (the adapter, or with --full the whole model, at its root; resumable state in checkpoints/).", OptionKind.Path) { Default = Defaults.Output },
            new("--device", "cpu or cuda.") { Default = Defaults.Device },
            new("--dtype", "Compute dtype of the base: f32, bf16, f16 (default: the checkpoint's)."),
            new("--threads", "CPU threads for LibTorch (default: LibTorch's choice).", OptionKind.Integer),
            new("--save-every", "Commit resumable state every N steps (async).", OptionKind.Integer) { Default = Text(Defaults.SaveEvery) },
            new("--resume", "Continue from the newest complete checkpoint in --out.", OptionKind.Flag),
            new("--overwrite", Outputs.RunFolder.OverwriteHelp, OptionKind.Flag),
            new("--seed", "Seed of the LoRA init and data order.", OptionKind.Integer) { Default = Text(Defaults.Seed) },
            new("--json", "One JSON line per step, then one summary line.", OptionKind.Flag) { Surface = OptionSurface.CliOnly },
            new("--trace", "Write each set-up phase and the first step's phases to stderr (to locate a crash).", OptionKind.Flag) { Surface = OptionSurface.CliOnly },
            new("--name", "Bind the run's result to this C# variable.") { Surface = OptionSurface.MagicOnly },
        ]);

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static FineTuningRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        return new FineTuningRequest
        {
            Recipe = v.Required("--recipe"),
            Model = v.Required("--model"),
            Data = v.Required("--data"),
            EvalData = v.Text("--eval-data"),
            Retain = v.Text("--retain"),
            Gamma = v.Number("--gamma")!.Value,
            Full = v.Flag("--full"),
            EvalEvery = v.Integer("--eval-every")!.Value,
            Output = v.Required("--out"),
            QLora = v.Flag("--qlora"),
            GradientCheckpointing = v.Flag("--gradient-checkpointing"),
            LoraR = v.Integer("--lora-r")!.Value,
            LoraAlpha = v.Number("--lora-alpha")!.Value,
            LoraDropout = v.Number("--lora-dropout")!.Value,
            LoraTargets = v.Required("--lora-targets"),
            Steps = v.Integer("--steps"),
            Epochs = v.Number("--epochs"),
            LearningRate = v.Number("--lr")!.Value,
            WarmupSteps = v.Integer("--warmup")!.Value,
            WarmupRatio = v.Number("--warmup-ratio")!.Value,
            Schedule = v.Required("--lr-scheduler"),
            BatchSize = v.Integer("--batch")!.Value,
            GradientAccumulation = v.Integer("--grad-accum")!.Value,
            Beta = v.Number("--beta")!.Value,
            DpoLoss = v.Required("--dpo-loss"),
            LabelSmoothing = v.Number("--label-smoothing")!.Value,
            MaxLength = v.Integer("--max-length")!.Value,
            Packing = v.Flag("--packing"),
            Template = v.Required("--template"),
            ChatTemplate = v.Text("--chat-template"),
            Device = v.Required("--device"),
            DType = v.Text("--dtype"),
            SaveEvery = v.Integer("--save-every")!.Value,
            Resume = v.Flag("--resume"),
            Overwrite = v.Flag("--overwrite"),
            Seed = v.Long("--seed")!.Value,
            Threads = v.Integer("--threads"),
        };
    }
}
