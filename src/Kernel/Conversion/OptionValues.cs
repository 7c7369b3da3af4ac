namespace Ckpt.Conversion;

/// <summary>
/// Option values that the CLI verbs and the notebook magics share (`--to`; `--dtype` is <see cref="DTypeNames"/>), parsed in one place so
/// both accept the same spellings and refuse the rest with the same sentence.
/// </summary>
public static class OptionValues
{
    /// <exception cref="FormatException">Not a format; the message lists the formats.</exception>
    public static TargetFormat TargetFormat(string text) => text.Trim().ToLowerInvariant() switch
    {
        "safetensors" or "hf" => Conversion.TargetFormat.Safetensors,
        "dcp" => Conversion.TargetFormat.Dcp,
        "torch" or "pt" => Conversion.TargetFormat.Torch,
        _ => throw new FormatException($"--to {text} is not a format (safetensors, dcp, torch)"),
    };
}
