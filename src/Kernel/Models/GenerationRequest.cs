namespace Ckpt.Models;

/// <summary>
/// The options of `ckpt generate` as typed, resolved and checked in one place (<see cref="Generation.Run"/>) before
/// any weight is read. Sampling values left null take the model's generation_config.json, then transformers' defaults;
/// giving any of them samples, <see cref="Greedy"/> forces argmax.
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>Checkpoint file or folder of a LLaMA-family or GPT-2 model, config.json (and a tokenizer for text) beside it.</summary>
    [Option("--model", "A checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json, and a tokenizer for --prompt, beside it); in a notebook also a C# variable bound by #!ckpt-load.", Path = true, Positional = true, Required = true, Noun = "model")]
    public required string Model { get; init; }

    /// <summary>Text to continue (needs tokenizer.model or tokenizer.json beside the model); exclusive with <see cref="InputIds"/>.</summary>
    [Option("--prompt", "The text to continue (tokenized with BOS first, as fine-tuning data).")]
    public string? Prompt { get; init; }

    [Option("--input-ids", "A safetensors file holding input_ids [rows, seq]; each row is continued on its own.", Path = true, Surface = OptionSurface.CliOnly)]
    public string? InputIds { get; init; }

    /// <summary>A PEFT LoRA adapter folder applied on top of the model.</summary>
    [Option("--adapter", "A PEFT LoRA adapter folder to apply on top of the model (e.g. finetune's --out).", Path = true)]
    public string? Adapter { get; init; }

    /// <summary>Render <see cref="Prompt"/> as one user message with the model's chat template (add_generation_prompt=true).</summary>
    [Option("--chat", "Render --prompt as one user message with the model's chat template (add_generation_prompt).")]
    public bool Chat { get; init; }

    [Option("--max-new-tokens", "Tokens to generate at most.")]
    public int MaxNewTokens { get; init; } = 64;

    [Option("--greedy", "Argmax decoding, whatever generation_config.json says.")]
    public bool Greedy { get; init; }

    [Option("--temperature", "Sample, dividing the logits by T (default: generation_config.json, else 1).")]
    public double? Temperature { get; init; }

    [Option("--top-p", "Sample from the smallest set of tokens whose probability reaches p (default: generation_config.json, else 1).")]
    public double? TopP { get; init; }

    [Option("--top-k", "Sample from the k most likely tokens, 0 for all (default: generation_config.json, else 50).")]
    public int? TopK { get; init; }

    [Option("--seed", "Seed of the CPU generator sampling draws from.")]
    public long Seed { get; init; }

    /// <summary>Re-run the whole sequence for every token instead of using the KV cache (the baseline to time against).</summary>
    [Option("--no-cache", "Re-run the whole sequence for every token instead of using the KV cache (a baseline).")]
    public bool NoCache { get; init; }

    /// <summary>"cpu", "cuda" or "cuda:N" (<see cref="ComputeDevice"/>); null is the CPU.</summary>
    [Option("--device", ComputeDevice.Help)]
    public string? Device { get; init; } = "cpu";

    [Option("--dtype", DTypeNames.ComputeHelp)]
    public string? DType { get; init; }

    /// <summary>LibTorch intra-op CPU threads for the process; null leaves LibTorch's choice.</summary>
    [Option("--threads", LibTorchThreads.Help)]
    public int? Threads { get; init; }

    /// <summary>The checks that need no file read beyond existence; the message names the option.</summary>
    /// <exception cref="ArgumentException">A missing, contradictory or out-of-range option.</exception>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Model)) throw new ArgumentException("a model path is required");
        if (!File.Exists(Model) && !Directory.Exists(Model)) throw new ArgumentException($"model {Model} does not exist");
        if (Adapter is not null && !Directory.Exists(Adapter)) throw new ArgumentException($"adapter folder {Adapter} does not exist");
        if (Prompt is null == InputIds is null) throw new ArgumentException("give exactly one of --prompt and --input-ids");
        if (Prompt is { Length: 0 }) throw new ArgumentException("--prompt is empty: generation needs text to continue");
        if (InputIds is not null && !File.Exists(InputIds)) throw new ArgumentException($"input ids file {InputIds} does not exist");
        if (Chat && Prompt is null) throw new ArgumentException("--chat renders a --prompt as a user message; it does not apply to --input-ids");
        if (Greedy && (Temperature ?? TopP ?? (double?)TopK) is not null)
            throw new ArgumentException("--greedy cannot be combined with --temperature, --top-p or --top-k, which sample");
        new GenerationSettings { MaxNewTokens = MaxNewTokens, Temperature = Temperature ?? 1.0, TopK = TopK ?? 0, TopP = TopP ?? 1.0 }.Validate();
        LibTorchThreads.Check(Threads);
        ComputeDevice.Parse(Device);
        _ = Tensors.DTypeNames.Compute(DType);
    }

    /// <summary>The sampling settings: explicit options, then the model's generation_config.json, then transformers' defaults.</summary>
    internal GenerationSettings Settings(GenerationDefaults defaults)
    {
        bool explicitSampling = (Temperature ?? TopP ?? (double?)TopK) is not null;
        var settings = new GenerationSettings
        {
            MaxNewTokens = MaxNewTokens,
            DoSample = !Greedy && (explicitSampling || defaults.DoSample == true),
            Temperature = Temperature ?? defaults.Temperature ?? 1.0,
            TopK = TopK ?? defaults.TopK ?? 50,
            TopP = TopP ?? defaults.TopP ?? 1.0,
            Seed = Seed,
            EosTokenIds = defaults.EosTokenIds,
            UseCache = !NoCache,
        };
        settings.Validate();
        return settings;
    }
}
