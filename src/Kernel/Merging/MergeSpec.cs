namespace Ckpt.Merging;

/// <summary>One input checkpoint of a merge and its per-model parameters (mergekit's `models[i].parameters`).</summary>
public sealed record MergeInput(string Path, double Weight = 1.0, double? Density = null);

/// <summary>
/// A complete description of a merge: what to combine and how. Built by hand, from CLI options
/// (<see cref="MergeRequest"/>) or from a mergekit-style YAML file (<see cref="MergeConfigParser"/>); checked by
/// <see cref="Check"/> before any tensor byte is read.
/// </summary>
public sealed record MergeSpec
{
    public required MergeMethod Method { get; init; }
    public required IReadOnlyList<MergeInput> Models { get; init; }
    /// <summary>The base model task vectors are taken against (task arithmetic, TIES, DARE).</summary>
    public string? BaseModel { get; init; }
    /// <summary>SLERP interpolation factor: 0 gives the first model, 1 the second.</summary>
    public double T { get; init; } = 0.5;
    /// <summary>Fraction of each task vector kept (TIES: by magnitude; DARE: at random). Per-model density overrides it.</summary>
    public double Density { get; init; } = 1.0;
    /// <summary>Scale of the merged task vector.</summary>
    public double Lambda { get; init; } = 1.0;
    /// <summary>Divide by the sum of weights; null takes mergekit's per-method default.</summary>
    public bool? Normalize { get; init; }
    /// <summary>How kept task-vector entries are scaled back (TIES, DARE); null takes the method's default.</summary>
    public TaskVectorRescale? Rescale { get; init; }
    /// <summary>Seed of the DARE drop masks.</summary>
    public ulong Seed { get; init; }
    /// <summary>Output element type; null keeps each tensor's input dtype.</summary>
    public DType? OutputDType { get; init; }

    internal bool EffectiveNormalize => Normalize ?? Method.DefaultNormalize;

    internal TaskVectorRescale? EffectiveRescale => Rescale ?? Method.DefaultRescale;

    internal double[] Weights => Models.Select(m => m.Weight).ToArray();

    internal double[] Densities => Models.Select(m => m.Density ?? Density).ToArray();

    /// <summary>A parameter as the merge log reports it, by its mergekit key (<see cref="MergeMethod.Parameters"/>).</summary>
    internal object? ParameterValue(string key) => key switch
    {
        "t" => T,
        "density" => Density,
        "lambda" => Lambda,
        "normalize" => EffectiveNormalize,
        "rescale" => EffectiveRescale?.Name(),
        // A string: JSON readers take numbers as doubles, which would round a 64-bit seed.
        "seed" => Seed.ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a merge parameter"),
    };

    /// <summary>
    /// Checks the parameters before anything is opened: those every method shares here, the rest by the method.
    /// Errors name the offending key in mergekit's spelling (`models[1].parameters.density`), and
    /// <paramref name="source"/> (a config file) when given.
    /// </summary>
    /// <exception cref="CheckpointFormatException">With <see cref="FormatErrorReason.MergeConfigInvalid"/>.</exception>
    public void Check(string? source = null)
    {
        if (Models.Count == 0) throw Invalid(source, "models", "at least one model is needed");
        if (Method.NeedsBase && string.IsNullOrWhiteSpace(BaseModel))
            throw Invalid(source, "base_model", $"{Method.Name} takes task vectors against a base model, and none is given");
        if (!double.IsFinite(T)) throw Invalid(source, "parameters.t", "must be a finite number");
        if (!double.IsFinite(Lambda)) throw Invalid(source, "parameters.lambda", "must be a finite number");
        CheckDensity(source, "parameters.density", Density);
        for (int i = 0; i < Models.Count; i++)
        {
            var m = Models[i];
            if (string.IsNullOrWhiteSpace(m.Path)) throw Invalid(source, $"models[{i}].model", "is empty");
            if (!double.IsFinite(m.Weight)) throw Invalid(source, $"models[{i}].parameters.weight", "must be a finite number");
            if (m.Density is { } d) CheckDensity(source, $"models[{i}].parameters.density", d);
        }
        if (Rescale is not null && Method.DefaultRescale is null)
            throw Invalid(source, "parameters.rescale", $"{Method.Name} does not sparsify task vectors, so there is nothing to rescale");
        if (OutputDType is { } dt && !FloatSpans.CanEncode(dt))
            throw Invalid(source, "dtype", "merged tensors can be written as float32, bfloat16, float16 or float64", found: dt.ToString());
        Method.Check(this, source);
    }

    static void CheckDensity(string? source, string key, double d)
    {
        if (!(d > 0 && d <= 1)) throw Invalid(source, key, "must be in (0, 1]", "0 < density ≤ 1", d.ToString("R"));
    }

    internal static CheckpointFormatException Invalid(string? source, string key, string detail, string? expected = null, string? found = null) =>
        new(FormatErrorReason.MergeConfigInvalid, source, null, $"key '{key}' {detail}", expected, found);
}
