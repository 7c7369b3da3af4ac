namespace Ckpt.Merging;

/// <summary>
/// The methods of mergekit's generalised task arithmetic (<see cref="TaskVectorMerge"/>): each is a sparsification,
/// with or without sign consensus, and mergekit's defaults for <c>normalize</c> and <c>rescale</c>
/// (mergekit/merge_methods/registry.py).
/// </summary>
internal abstract class TaskVectorMethod(Sparsification sparsification, bool consensus, bool defaultNormalize, bool mergekitRescales)
    : MergeMethod
{
    public override bool NeedsBase => true;

    public override IReadOnlyList<string> Parameters => sparsification switch
    {
        Sparsification.None => ["lambda", "normalize"],
        Sparsification.Magnitude => ["lambda", "normalize", "density", "rescale"],
        _ => ["lambda", "normalize", "density", "seed", "rescale"],
    };

    internal override bool DefaultNormalize => defaultNormalize;

    // 1/density is DARE's own rescale; magnitude pruning has none unless asked (mergekit's `rescale: true`).
    internal override TaskVectorRescale? DefaultRescale => sparsification switch
    {
        Sparsification.None => null,
        Sparsification.Random => TaskVectorRescale.InverseDensity,
        _ => TaskVectorRescale.None,
    };

    internal override TaskVectorRescale? MergekitRescale(bool? rescale) =>
        sparsification == Sparsification.None ? null
        : rescale ?? mergekitRescales ? TaskVectorRescale.L1 : TaskVectorRescale.None;

    internal override void Check(MergeSpec spec, string? source)
    {
        if (spec.Rescale == TaskVectorRescale.InverseDensity && sparsification != Sparsification.Random)
            throw MergeSpec.Invalid(source, "parameters.rescale", $"{Name} keeps entries by magnitude; 1/density is DARE's rescale",
                "l1 or none", TaskVectorRescale.InverseDensity.Name());
    }

    internal override TensorMerge CreateMerge(MergeSpec spec) => new TaskVectorMerge(spec.Weights, spec.Densities, sparsification,
        consensus, spec.EffectiveNormalize, spec.Lambda, spec.Seed, spec.EffectiveRescale ?? TaskVectorRescale.None);
}
