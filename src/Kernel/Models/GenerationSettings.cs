namespace Ckpt.Models;

/// <summary>
/// How <see cref="Generation.Generate"/> picks tokens: greedy (argmax), or sampling from the softmax of the logits
/// after <see cref="LogitsWarpers"/> (temperature, top-k, top-p), drawn by a CPU generator seeded with
/// <see cref="Seed"/>. transformers' GenerationConfig defaults: T 1, top_k 50, top_p 1.
/// </summary>
public sealed record GenerationSettings
{
    public int MaxNewTokens { get; init; } = 64;
    public bool DoSample { get; init; }
    public double Temperature { get; init; } = 1.0;
    /// <summary>0 keeps every token.</summary>
    public int TopK { get; init; } = 50;
    public double TopP { get; init; } = 1.0;
    public long Seed { get; init; }
    /// <summary>Generation stops after any of these (included in the output).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    /// <summary>Decode with the KV cache (one token per forward); false re-runs the whole sequence per token (the baseline).</summary>
    public bool UseCache { get; init; } = true;
    /// <summary>Keep each step's raw logits (HF's output_logits) in <see cref="GeneratedSequence.Logits"/>.</summary>
    public bool KeepLogits { get; init; }

    /// <exception cref="ArgumentException">A value outside its range; the message names the option.</exception>
    public void Validate()
    {
        if (MaxNewTokens < 1) throw new ArgumentException($"--max-new-tokens must be at least 1, not {MaxNewTokens}");
        if (!(Temperature > 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"--temperature must be a positive number, not {Temperature}");
        if (TopK < 0) throw new ArgumentException($"--top-k must be 0 (off) or positive, not {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"--top-p must be in (0, 1], not {TopP}");
    }
}

/// <summary>One row's generation: the new tokens (ending with the EOS that stopped it, if one did) and why it stopped.</summary>
/// <param name="FinishReason">"eos", or "length" (max-new-tokens, or the model's last position).</param>
/// <param name="Logits">Each step's raw logits (f32, [vocab]) when <see cref="GenerationSettings.KeepLogits"/>.</param>
public sealed record GeneratedSequence(int[] PromptIds, int[] Tokens, string FinishReason, TimeSpan PrefillTime, TimeSpan DecodeTime,
    IReadOnlyList<float[]>? Logits = null)
{
    /// <summary>New tokens per second over the whole generation (prefill included).</summary>
    public double TokensPerSecond => Tokens.Length / Math.Max(1e-9, (PrefillTime + DecodeTime).TotalSeconds);
}
