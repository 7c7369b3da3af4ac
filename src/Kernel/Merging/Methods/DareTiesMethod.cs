namespace Ckpt.Merging;

/// <summary>mergekit <c>dare_ties</c>: DARE's random drop and rescale, then TIES sign election and disjoint mean.</summary>
internal sealed class DareTiesMethod() : TaskVectorMethod(Sparsification.Random, consensus: true, defaultNormalize: false, mergekitRescales: true)
{
    public override string Name => "dare_ties";
    public override string Summary => "DARE's random drop and rescale, then TIES sign election";
}
