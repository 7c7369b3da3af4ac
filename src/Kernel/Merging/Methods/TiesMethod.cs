namespace Ckpt.Merging;

/// <summary>mergekit <c>ties</c> (Yadav et al. 2023): task vectors trimmed to the top density by magnitude, signs elected by summed mass, disjoint mean.</summary>
internal sealed class TiesMethod() : TaskVectorMethod(Sparsification.Magnitude, consensus: true, defaultNormalize: true, mergekitRescales: false)
{
    public override string Name => "ties";
    public override string Summary => "top-density task vectors by magnitude, sign election, disjoint mean";
}
