namespace Ckpt.Merging;

/// <summary>
/// One merge method over one tensor at a time, seen in chunks. A method that needs whole-tensor statistics
/// (SLERP's angle, TIES's magnitude threshold) asks for statistic passes: every chunk is shown to
/// <see cref="Observe"/> once per pass before any is combined, so a tensor never has to be whole in memory.
/// </summary>
internal abstract class MergeKernel
{
    public virtual int StatisticPasses => 0;
    /// <summary>Whether the method may need statistic passes (then small tensors are kept whole to avoid re-reads).</summary>
    public virtual bool UsesStatistics => false;
    public virtual void BeginTensor(string name, long elementCount) { }
    public virtual void Observe(int pass, MergeChunk chunk) { }
    public virtual void EndPass(int pass) { }
    /// <summary>Merged values of elements [start, end) of the chunk into output[start..end). Called from several threads at once.</summary>
    public abstract void Combine(MergeChunk chunk, float[] output, int start, int end);

    public static MergeKernel For(MergeSpec spec)
    {
        var weights = spec.Models.Select(m => m.Weight).ToArray();
        var densities = Enumerable.Range(0, spec.Models.Count).Select(spec.DensityOf).ToArray();
        return spec.Method switch
        {
            MergeMethod.Linear => new LinearKernel(weights, spec.EffectiveNormalize),
            MergeMethod.Slerp => new SlerpKernel(spec.T),
            MergeMethod.TaskArithmetic => new TaskVectorKernel(weights, densities, Sparsification.None, consensus: false,
                spec.EffectiveNormalize, spec.Lambda, spec.Seed),
            MergeMethod.Ties => new TaskVectorKernel(weights, densities, Sparsification.Magnitude, consensus: true,
                spec.EffectiveNormalize, spec.Lambda, spec.Seed),
            MergeMethod.DareLinear => new TaskVectorKernel(weights, densities, Sparsification.Random, consensus: false,
                spec.EffectiveNormalize, spec.Lambda, spec.Seed),
            MergeMethod.DareTies => new TaskVectorKernel(weights, densities, Sparsification.Random, consensus: true,
                spec.EffectiveNormalize, spec.Lambda, spec.Seed),
            _ => throw new ArgumentOutOfRangeException(nameof(spec)),
        };
    }
}
