using System.Globalization;
using Ckpt.Verbs;

namespace Ckpt.Models;

/// <summary>
/// `ckpt generate` and `#!ckpt-generate`: every option once (defaults from <see cref="GenerationRequest"/>'s
/// initialisers), and the one binding to the request. The model is `--model` on both surfaces; it may also be given
/// without its name (`ckpt generate model/ --prompt ...`), as the CLI took it before.
/// </summary>
public static class GenerateVerb
{
    static readonly GenerationRequest Defaults = new() { Model = "" };

    public static readonly Verb Definition = new("generate", "#!ckpt-generate",
        "Generate text with a causal LM (and a fine-tune's adapter): greedy or sampled, decoded with a KV cache.",
        [
            new("--model", "A checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json, and a tokenizer for --prompt, beside it); in a notebook also a C# variable bound by #!ckpt-load.", OptionKind.Path)
                { Positional = true, Required = true, Noun = "model" },
            new("--prompt", "The text to continue (tokenized with BOS first, as fine-tuning data)."),
            new("--input-ids", "A safetensors file holding input_ids [rows, seq]; each row is continued on its own.", OptionKind.Path) { Surface = OptionSurface.CliOnly },
            new("--adapter", "A PEFT LoRA adapter folder to apply on top of the model (e.g. finetune's --out).", OptionKind.Path),
            new("--chat", "Render --prompt as one user message with the model's chat template (add_generation_prompt).", OptionKind.Flag),
            new("--max-new-tokens", "Tokens to generate at most.", OptionKind.Integer) { Default = Defaults.MaxNewTokens.ToString(CultureInfo.InvariantCulture) },
            new("--greedy", "Argmax decoding, whatever generation_config.json says.", OptionKind.Flag),
            new("--temperature", "Sample, dividing the logits by T (default: generation_config.json, else 1).", OptionKind.Number),
            new("--top-p", "Sample from the smallest set of tokens whose probability reaches p (default: generation_config.json, else 1).", OptionKind.Number),
            new("--top-k", "Sample from the k most likely tokens, 0 for all (default: generation_config.json, else 50).", OptionKind.Integer),
            new("--seed", "Seed of the CPU generator sampling draws from.", OptionKind.Integer) { Default = Defaults.Seed.ToString(CultureInfo.InvariantCulture) },
            new("--no-cache", "Re-run the whole sequence for every token instead of using the KV cache (a baseline).", OptionKind.Flag),
            new("--device", "cpu (default), cuda or cuda:N."),
            new("--dtype", "Compute dtype: f32, bf16, f16 (default: the checkpoint's)."),
            new("--threads", "CPU threads for LibTorch (default: LibTorch's choice).", OptionKind.Integer),
            new("--json", "Print one JSON object per row instead of the text.", OptionKind.Flag) { Surface = OptionSurface.CliOnly },
            new("--name", "Bind the result (Ckpt.Models.GenerationCompleted) to this C# variable.") { Surface = OptionSurface.MagicOnly },
        ])
    {
        MagicUsage = "#!ckpt-generate --model <var|path> --prompt \"text\" [--adapter dir] [--greedy | --temperature T]",
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static GenerationRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        return new GenerationRequest
        {
            Model = v.Required("--model"),
            Adapter = v.Text("--adapter"),
            Prompt = v.Text("--prompt"),
            InputIds = v.Text("--input-ids"),
            Chat = v.Flag("--chat"),
            MaxNewTokens = v.Integer("--max-new-tokens")!.Value,
            Greedy = v.Flag("--greedy"),
            Temperature = v.Number("--temperature"),
            TopP = v.Number("--top-p"),
            TopK = v.Integer("--top-k"),
            Seed = v.Long("--seed")!.Value,
            NoCache = v.Flag("--no-cache"),
            Device = v.Text("--device"),
            DType = v.Text("--dtype"),
            Threads = v.Integer("--threads"),
        };
    }
}
