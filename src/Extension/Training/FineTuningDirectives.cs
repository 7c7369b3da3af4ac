using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Directives;

namespace Ckpt.Extension.Training;

/// <summary>`#!ckpt-finetune`: the options of `ckpt finetune` (same names, same defaults).</summary>
public static class FineTuningDirectives
{
    public static void Register(Kernel kernel) =>
        kernel.AddMagic<FineTuneModel>(new KernelActionDirective("#!ckpt-finetune",
            "Fine-tunes a causal LM with LoRA or QLoRA (as `ckpt finetune`): SFT or DPO, a live loss chart, a summary, a PEFT adapter in --out; the stop button keeps the last completed step's adapter.")
        {
            Parameters =
            {
                new KernelDirectiveParameter("--recipe", "sft or dpo.") { Required = true },
                new KernelDirectiveParameter("--model", "A C# variable bound by #!ckpt-load, or a checkpoint file or folder (config.json beside it).") { Required = true, TypeHint = "file" },
                new KernelDirectiveParameter("--data", "JSONL: SFT {prompt,completion}, {instruction,input,output} or conversational {messages}; DPO {prompt,chosen,rejected} (text or message lists); or pre-tokenized *_input_ids.") { Required = true, TypeHint = "file" },
                new KernelDirectiveParameter("--qlora", "Store the base linear weights as NF4 and train LoRA on top.") { Flag = true },
                new KernelDirectiveParameter("--gradient-checkpointing", "Recompute each decoder layer in backward instead of keeping its activations.") { Flag = true },
                new KernelDirectiveParameter("--lora-r", "LoRA rank (default 16)."),
                new KernelDirectiveParameter("--lora-alpha", "LoRA alpha (default 32)."),
                new KernelDirectiveParameter("--lora-dropout", "LoRA dropout (default 0)."),
                new KernelDirectiveParameter("--lora-targets", "Comma-separated module names (default q_proj,v_proj)."),
                new KernelDirectiveParameter("--eval-data", "Held-out JSONL in the same format, evaluated every --eval-every steps and after the last.") { TypeHint = "file" },
                new KernelDirectiveParameter("--eval-every", "Steps between evaluations (default 0: after the last step only)."),
                new KernelDirectiveParameter("--steps", "Optimizer steps."),
                new KernelDirectiveParameter("--epochs", "Passes over the data (instead of --steps)."),
                new KernelDirectiveParameter("--lr", "Learning rate (default 2e-4)."),
                new KernelDirectiveParameter("--warmup", "Linear warm-up steps (default 0)."),
                new KernelDirectiveParameter("--warmup-ratio", "Warm-up as a fraction of the steps, when --warmup is 0 (default 0)."),
                new KernelDirectiveParameter("--lr-scheduler", "constant (default), linear or cosine: HF's schedules after the warm-up."),
                new KernelDirectiveParameter("--batch", "Examples per micro-batch (default 8)."),
                new KernelDirectiveParameter("--grad-accum", "Micro-batches per optimizer step (default 1)."),
                new KernelDirectiveParameter("--beta", "DPO β (default 0.1)."),
                new KernelDirectiveParameter("--dpo-loss", "DPO loss as TRL's loss_type: sigmoid (default), ipo (per-token log-probs), hinge or robust."),
                new KernelDirectiveParameter("--label-smoothing", "DPO label smoothing ε in [0, 0.5]: conservative DPO with sigmoid, or robust DPO (default 0)."),
                new KernelDirectiveParameter("--max-length", "Tokens per example, and per row with --packing (default 1024)."),
                new KernelDirectiveParameter("--packing", "SFT: pack whole examples into rows of --max-length tokens (TRL's bfd), each attending only to itself; --batch counts rows.") { Flag = true },
                new KernelDirectiveParameter("--template", "auto (Alpaca for instruction records, the chat template for conversations), alpaca or none."),
                new KernelDirectiveParameter("--chat-template", "A Jinja chat template file for conversational records (default: the model's tokenizer_config.json chat_template).") { TypeHint = "file" },
                new KernelDirectiveParameter("--out", "Output folder: the adapter at its root, resumable state in checkpoints/ (default finetune-out).") { TypeHint = "file" },
                new KernelDirectiveParameter("--device", "cpu (default) or cuda."),
                new KernelDirectiveParameter("--dtype", "Compute dtype of the base: f32, bf16, f16 (default: the checkpoint's)."),
                new KernelDirectiveParameter("--save-every", "Commit resumable state every N steps (async)."),
                new KernelDirectiveParameter("--resume", "Continue from the newest complete checkpoint in --out.") { Flag = true },
                new KernelDirectiveParameter("--overwrite", Outputs.RunFolder.OverwriteHelp) { Flag = true },
                new KernelDirectiveParameter("--seed", "Seed of the LoRA init and data order (default 42)."),
                new KernelDirectiveParameter("--threads", "CPU threads for LibTorch (default: LibTorch's choice)."),
                new KernelDirectiveParameter("--name", "Bind the run's result to this C# variable."),
            },
        }, FineTuneHandler.HandleAsync);
}
