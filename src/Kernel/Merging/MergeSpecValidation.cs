using Ckpt.Errors;

namespace Ckpt.Merging;

/// <summary>
/// Checks a <see cref="MergeSpec"/>'s parameters before anything is opened. Errors name the offending key
/// in mergekit's spelling (`models[1].parameters.density`), and <paramref name="source"/> (a config file) when given.
/// </summary>
internal static class MergeSpecValidation
{
    public static void Check(MergeSpec spec, string? source = null)
    {
        if (spec.Models.Count == 0) throw Invalid(source, "models", "at least one model is needed");
        if (spec.Method.NeedsBase() && string.IsNullOrWhiteSpace(spec.BaseModel))
            throw Invalid(source, "base_model", $"{spec.Method.ConfigName()} takes task vectors against a base model, and none is given");
        if (spec.Method == MergeMethod.Slerp && spec.Models.Count != 2)
            throw Invalid(source, "models", "slerp interpolates exactly two models", "2", spec.Models.Count.ToString());
        if (!double.IsFinite(spec.T)) throw Invalid(source, "parameters.t", "must be a finite number");
        if (!double.IsFinite(spec.Lambda)) throw Invalid(source, "parameters.lambda", "must be a finite number");
        CheckDensity(source, "parameters.density", spec.Density);
        for (int i = 0; i < spec.Models.Count; i++)
        {
            var m = spec.Models[i];
            if (string.IsNullOrWhiteSpace(m.Path)) throw Invalid(source, $"models[{i}].model", "is empty");
            if (!double.IsFinite(m.Weight)) throw Invalid(source, $"models[{i}].parameters.weight", "must be a finite number");
            if (m.Density is { } d) CheckDensity(source, $"models[{i}].parameters.density", d);
        }
        if (spec.Method == MergeMethod.Linear && spec.EffectiveNormalize && Math.Abs(spec.Models.Sum(m => m.Weight)) < 1e-12)
            throw Invalid(source, "parameters.normalize", "the weights sum to zero, so they cannot be normalised");
        if (spec.OutputDType is { } dt && !FloatSpans.CanEncode(dt))
            throw Invalid(source, "dtype", "merged tensors can be written as float32, bfloat16, float16 or float64", found: dt.ToString());
    }

    static void CheckDensity(string? source, string key, double d)
    {
        if (!(d > 0 && d <= 1)) throw Invalid(source, key, "must be in (0, 1]", "0 < density ≤ 1", d.ToString("R"));
    }

    internal static CheckpointFormatException Invalid(string? source, string key, string detail, string? expected = null, string? found = null) =>
        new(FormatErrorReason.MergeConfigInvalid, source, null, $"key '{key}' {detail}", expected, found);
}
