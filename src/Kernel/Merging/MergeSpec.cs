using Ckpt.Tensors;

namespace Ckpt.Merging;

/// <summary>One input checkpoint of a merge and its per-model parameters (mergekit's `models[i].parameters`).</summary>
public sealed record MergeInput(string Path, double Weight = 1.0, double? Density = null);

/// <summary>
/// A complete, validated description of a merge: what to combine and how. Built by hand, from CLI options
/// or from a mergekit-style YAML file (<see cref="MergeConfigParser"/>); checked before any tensor byte is read.
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
    /// <summary>Seed of the DARE drop masks.</summary>
    public ulong Seed { get; init; }
    /// <summary>Output element type; null keeps each tensor's input dtype.</summary>
    public DType? OutputDType { get; init; }

    internal bool EffectiveNormalize => Normalize ?? Method.DefaultNormalize();

    internal double DensityOf(int model) => Models[model].Density ?? Density;
}
