namespace Ckpt.Merging;

/// <summary>mergekit <c>slerp</c>: spherical interpolation of exactly two models at <c>t</c>, lerp when near-colinear.</summary>
internal sealed class SlerpMethod : MergeMethod
{
    public override string Name => "slerp";
    public override string Summary => "spherical interpolation of two models at t";
    public override IReadOnlyList<string> Parameters => ["t"];

    internal override void Check(MergeSpec spec, string? source)
    {
        if (spec.Models.Count != 2)
            throw MergeSpec.Invalid(source, "models", "slerp interpolates exactly two models", "2", spec.Models.Count.ToString());
    }

    internal override TensorMerge CreateMerge(MergeSpec spec) => new SlerpMerge(spec.T);
}
