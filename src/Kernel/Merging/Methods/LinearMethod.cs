namespace Ckpt.Merging;

/// <summary>mergekit <c>linear</c> (model soups): Σ wᵢθᵢ, divided by Σ wᵢ unless <c>normalize: false</c>.</summary>
internal sealed class LinearMethod : MergeMethod
{
    public override string Name => "linear";
    public override string Summary => "weighted average Σ wᵢθᵢ / Σ wᵢ (model soups)";
    public override IReadOnlyList<string> Parameters => ["normalize"];
    internal override bool DefaultNormalize => true;

    internal override void Check(MergeSpec spec, string? source)
    {
        if (spec.EffectiveNormalize && Math.Abs(spec.Models.Sum(m => m.Weight)) < 1e-12)
            throw MergeSpec.Invalid(source, "parameters.normalize", "the weights sum to zero, so they cannot be normalised");
    }

    internal override TensorMerge CreateMerge(MergeSpec spec) => new LinearMerge(spec.Weights, spec.EffectiveNormalize);
}
