namespace Ckpt.Merging;

/// <summary>
/// A merge method's computation over one tensor at a time, seen in chunks. A method that needs whole-tensor statistics
/// (SLERP's angle, TIES's magnitude threshold, an L1 rescale) asks for statistic passes: every chunk is shown to
/// <see cref="Observe"/> once per pass before any is combined, so a tensor never has to be whole in memory.
/// </summary>
internal abstract class TensorMerge
{
    public virtual int StatisticPasses => 0;
    /// <summary>Whether the method may need statistic passes (then small tensors are kept whole to avoid re-reads).</summary>
    public virtual bool UsesStatistics => false;
    public virtual void BeginTensor(string name, long elementCount) { }
    public virtual void Observe(int pass, MergeChunk chunk) { }
    public virtual void EndPass(int pass) { }
    /// <summary>Merged values of elements [start, end) of the chunk into output[start..end). Called from several threads at once.</summary>
    public abstract void Combine(MergeChunk chunk, float[] output, int start, int end);
}
