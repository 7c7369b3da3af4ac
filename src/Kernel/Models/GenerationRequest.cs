namespace Ckpt.Models;

/// <summary>
/// The options of `ckpt generate` as typed, resolved and checked in one place (<see cref="Generation.Run"/>) before
/// any weight is read. Sampling values left null take the model's generation_config.json, then transformers' defaults;
/// giving any of them samples, <see cref="Greedy"/> forces argmax.
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>Checkpoint file or folder of a LLaMA-family or GPT-2 model, config.json (and a tokenizer for text) beside it.</summary>
    public required string Model { get; init; }
    /// <summary>A PEFT LoRA adapter folder applied on top of the model.</summary>
    public string? Adapter { get; init; }
    /// <summary>Text to continue (needs tokenizer.model or tokenizer.json beside the model); exclusive with <see cref="InputIds"/>.</summary>
    public string? Prompt { get; init; }
    /// <summary>A safetensors file holding input_ids [rows, seq]; each row is continued on its own.</summary>
    public string? InputIds { get; init; }
    /// <summary>Render <see cref="Prompt"/> as one user message with the model's chat template (add_generation_prompt=true).</summary>
    public bool Chat { get; init; }
    public int MaxNewTokens { get; init; } = 64;
    public bool Greedy { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public long Seed { get; init; }
    /// <summary>Re-run the whole sequence for every token instead of using the KV cache (the baseline to time against).</summary>
    public bool NoCache { get; init; }
    /// <summary>"cpu" (default), "cuda", "cuda:N".</summary>
    public string? Device { get; init; }
    /// <summary>Compute dtype: f32, bf16, f16 (default: the checkpoint's).</summary>
    public string? DType { get; init; }
    /// <summary>LibTorch intra-op CPU threads for the process; null leaves LibTorch's choice.</summary>
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
        if (Threads is <= 0) throw new ArgumentException($"--threads must be positive, not {Threads}");
        if (Device is not null && !(Device is "cpu" or "cuda" || Device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(Device[5..], out var n) && n >= 0))
            throw new ArgumentException($"--device must be cpu, cuda or cuda:N, not '{Device}'");
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
