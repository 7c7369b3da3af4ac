namespace Ckpt.Tensors;

/// <summary>
/// The one reading of a dtype a user types (`--dtype`, a mergekit YAML's `dtype`): safetensors codes in any case
/// (`F32`, `bf16`) and the names PyTorch, mergekit and HF configs use (`float32`, `fp16`, `half`, `double`). It is the
/// union of what the five parsers before it accepted, so nothing that was read is now refused.
/// </summary>
public static class DTypeNames
{
    public const string Help = "F32, BF16, F16 or F64 (also float32, bfloat16, float16, half, float64, double, fp32, fp16)";

    /// <summary>Every compute `--dtype`'s help (finetune, generate, restor, forward, bench forward).</summary>
    public const string ComputeHelp = "Compute dtype: " + Help + " (default: the checkpoint's).";

    /// <summary>The one sentence every `--dtype` refuses a value with.</summary>
    public static string Refusal(string text) => $"--dtype must be F32, BF16, F16 or F64, not '{text}'";

    public static bool TryParse(string text, out DType dtype)
    {
        DType? named = text.Trim().ToLowerInvariant() switch
        {
            "f32" or "fp32" or "float32" or "float" => DType.F32,
            "bf16" or "bfloat16" => DType.BF16,
            "f16" or "fp16" or "float16" or "half" => DType.F16,
            "f64" or "fp64" or "float64" or "double" => DType.F64,
            _ => null,
        };
        if (named is { } d)
        {
            dtype = d;
            return true;
        }
        // Any other safetensors code, as `ckpt convert --dtype` always read them.
        return DTypes.TryParseCode(text.Trim().ToUpperInvariant(), out dtype);
    }

    /// <summary>A dtype to store or cast to, or null for none.</summary>
    /// <exception cref="FormatException">Not a dtype: <see cref="Refusal"/>.</exception>
    public static DType? ParseOptional(string? text) => text is null ? null
        : TryParse(text, out var d) ? d
        : throw new FormatException(Refusal(text));

    /// <summary>A floating dtype to write (a merge's output), or null for none.</summary>
    /// <exception cref="FormatException">Not F32, BF16, F16 or F64: <see cref="Refusal"/>.</exception>
    public static DType? Floating(string? text) => text is null ? null
        : TryParse(text, out var d) && d is DType.F32 or DType.BF16 or DType.F16 or DType.F64 ? d
        : throw new FormatException(Refusal(text));

    /// <summary>A floating dtype to compute in, or null for the checkpoint's own.</summary>
    /// <exception cref="ArgumentException">Not a floating dtype LibTorch computes in: <see cref="Refusal"/>.</exception>
    public static torch.ScalarType? Compute(string? text) =>
        text is null ? null
        : TryParse(text, out var d) && d is DType.F32 or DType.BF16 or DType.F16 or DType.F64 && TorchInterop.TryGetScalarType(d, out var s) ? s
        : throw new ArgumentException(Refusal(text));
}
