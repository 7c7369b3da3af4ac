namespace Ckpt.Merging;

/// <summary>mergekit <c>task_arithmetic</c> (Ilharco et al. 2022): base + λ Σ wᵢ(θᵢ − base).</summary>
internal sealed class TaskArithmeticMethod() : TaskVectorMethod(Sparsification.None, consensus: false, defaultNormalize: false, mergekitRescales: false)
{
    public override string Name => "task_arithmetic";
    public override string Summary => "base + λ Σ wᵢ(θᵢ − base)";
}
