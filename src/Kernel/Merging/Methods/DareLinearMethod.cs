namespace Ckpt.Merging;

/// <summary>mergekit <c>dare_linear</c> (Yu et al. 2023): task vectors randomly dropped with probability 1 − density, rescaled, then summed.</summary>
internal sealed class DareLinearMethod() : TaskVectorMethod(Sparsification.Random, consensus: false, defaultNormalize: false, mergekitRescales: true)
{
    public override string Name => "dare_linear";
    public override string Summary => "task vectors randomly dropped and rescaled, then summed";
}
