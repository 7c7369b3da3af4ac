using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Directives;

namespace Ckpt.Extension.Training;

/// <summary>`#!ckpt-generate`: the options of `ckpt generate` for one text prompt (same names, same defaults).</summary>
public static class GenerationDirectives
{
    public static void Register(Kernel kernel) =>
        kernel.AddMagic<GenerateText>(new KernelActionDirective("#!ckpt-generate",
            "Continues a text prompt with a causal LM (as `ckpt generate`), optionally with a fine-tune's LoRA adapter: greedy or sampled, decoded with a KV cache.")
        {
            // --model and --prompt are not declared Required: the handler names a missing one in its own sentence
            // instead of .NET Interactive's "(1,1): error DNI104: Missing required parameter".
            Parameters =
            {
                new KernelDirectiveParameter("--model", "A C# variable bound by #!ckpt-load, or a checkpoint file or folder (config.json and tokenizer.model or tokenizer.json beside it).") { TypeHint = "file" },
                new KernelDirectiveParameter("--prompt", "The text to continue (tokenized with BOS first, as fine-tuning data)."),
                new KernelDirectiveParameter("--adapter", "A PEFT LoRA adapter folder to apply on top of the model (e.g. #!ckpt-finetune's --out).") { TypeHint = "file" },
                new KernelDirectiveParameter("--chat", "Render --prompt as one user message with the model's chat template (add_generation_prompt).") { Flag = true },
                new KernelDirectiveParameter("--max-new-tokens", "Tokens to generate at most (default 64)."),
                new KernelDirectiveParameter("--greedy", "Argmax decoding, whatever generation_config.json says.") { Flag = true },
                new KernelDirectiveParameter("--temperature", "Sample, dividing the logits by T (default: generation_config.json, else 1)."),
                new KernelDirectiveParameter("--top-k", "Sample from the k most likely tokens, 0 for all (default: generation_config.json, else 50)."),
                new KernelDirectiveParameter("--top-p", "Sample from the smallest set of tokens whose probability reaches p (default: generation_config.json, else 1)."),
                new KernelDirectiveParameter("--seed", "Seed of the CPU generator sampling draws from (default 0)."),
                new KernelDirectiveParameter("--device", "cpu (default), cuda or cuda:N."),
                new KernelDirectiveParameter("--dtype", "Compute dtype: f32, bf16, f16 (default: the checkpoint's)."),
                new KernelDirectiveParameter("--threads", "CPU threads for LibTorch (default: LibTorch's choice)."),
                new KernelDirectiveParameter("--name", "Bind the result (Ckpt.Models.GenerationCompleted) to this C# variable."),
            },
        }, GenerateHandler.HandleAsync);
}
