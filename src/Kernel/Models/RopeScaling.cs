namespace Ckpt.Models;

/// <summary>
/// How RoPE's inverse frequencies are derived (transformers `modeling_rope_utils.py`, `ROPE_INIT_FUNCTIONS`):
/// default θ^(−2j/d); `linear` divides them by factor; `dynamic` (NTK) raises θ once a sequence outgrows
/// max_position_embeddings; `llama3` divides the long wavelengths by factor and blends the band between.
/// The other types (yarn, longrope, …) change attention scaling as well and are refused by name.
/// </summary>
public sealed record RopeScaling
{
    public string Type { get; init; } = "default";
    public double Factor { get; init; } = 1;
    public double LowFreqFactor { get; init; } = 1;
    public double HighFreqFactor { get; init; } = 4;
    public long OriginalMaxPositions { get; init; } = 8192;

    public static readonly RopeScaling None = new();

    /// <summary>
    /// Reads a `rope_scaling` (transformers 4.x) or `rope_parameters` (5.x) object; `type` is its pre-4.45 spelling of `rope_type`.
    /// </summary>
    internal static RopeScaling FromJson(JsonElement rope, string source)
    {
        var type = rope.TryGetProperty("rope_type", out var rt) ? rt.GetString()
            : rope.TryGetProperty("type", out var ty) ? ty.GetString() : "default";
        double Factor() => ModelConfig.OptionalDouble(rope, "factor")
            ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, source, null, $"rope_scaling.type {type} needs a factor");
        return type switch
        {
            "default" or null => None,
            "linear" or "dynamic" => new RopeScaling { Type = type, Factor = Factor() },
            "llama3" => new RopeScaling
            {
                Type = type, Factor = Factor(),
                LowFreqFactor = ModelConfig.OptionalDouble(rope, "low_freq_factor") ?? 1,
                HighFreqFactor = ModelConfig.OptionalDouble(rope, "high_freq_factor") ?? 4,
                OriginalMaxPositions = ModelConfig.Optional(rope, "original_max_position_embeddings") ?? 8192,
            },
            _ => throw new CheckpointFormatException(FormatErrorReason.Unsupported, source, null,
                $"rope_scaling.type {type} is not implemented", "default, linear, dynamic or llama3", type),
        };
    }

    /// <summary>
    /// inv_freq [rotaryDim/2] in fp32 for a forward whose largest position is <paramref name="longest"/> − 1.
    /// </summary>
    /// <param name="maxPositions">config.max_position_embeddings, where dynamic NTK starts to stretch θ.</param>
    internal Tensor InverseFrequencies(long rotaryDim, double theta, long maxPositions, long longest, Device device)
    {
        using var scope = NewDisposeScope();
        if (Type == "dynamic" && longest > maxPositions)
            // transformers recomputes θ from the current length (dynamic_rope_update), per forward here: no state is kept.
            theta *= Math.Pow(Factor * longest / maxPositions - (Factor - 1), rotaryDim / (double)(rotaryDim - 2));
        var exponents = KeptScalars.Arange(0, rotaryDim, 2, ScalarType.Int64, device).to(ScalarType.Float32).Over((double)rotaryDim);
        var inv = pow(tensor((float)theta, ScalarType.Float32, device), exponents).reciprocal();
        if (Type == "linear") inv = inv.Over(Factor);
        else if (Type == "llama3") inv = Llama3(inv);
        return inv.MoveToOuterDisposeScope();
    }

    /// <summary>Llama 3.1's banded rescaling: wavelengths above old_context/low_freq_factor are slowed by factor, those below old_context/high_freq_factor kept, the band between interpolated.</summary>
    Tensor Llama3(Tensor inv)
    {
        double lowFreqWavelen = OriginalMaxPositions / LowFreqFactor, highFreqWavelen = OriginalMaxPositions / HighFreqFactor;
        var wavelen = inv.reciprocal().Times(2 * Math.PI);
        var scaled = where(wavelen.GreaterThan(lowFreqWavelen), inv.Over(Factor), inv);
        var smooth = wavelen.reciprocal().Times((double)OriginalMaxPositions).Minus(LowFreqFactor).Over(HighFreqFactor - LowFreqFactor);
        var smoothed = smooth.neg().Plus(1).mul(scaled).Over(Factor).Plus(smooth.mul(scaled));
        var medium = wavelen.LessThan(highFreqWavelen).logical_not().logical_and(wavelen.GreaterThan(lowFreqWavelen).logical_not());
        return where(medium, smoothed, scaled);
    }
}
