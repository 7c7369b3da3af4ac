namespace Ckpt.Merging;

/// <summary>
/// How a sparsified task vector is scaled back after entries are dropped (TIES, DARE).
/// <list type="bullet">
/// <item><see cref="InverseDensity"/>: the DARE paper's 1/density (Yu et al. 2023, eq. 2), which keeps each entry's
/// expectation; the default of `ckpt merge --method dare-*`, as Ckpt always did.</item>
/// <item><see cref="L1"/>: mergekit's <c>rescale: true</c> since v0.1.0 (arcee-ai/mergekit a2dda31b, PR #505; unchanged at
/// a6e40288, 2026-06-17: https://github.com/arcee-ai/mergekit/blob/a6e402884ba9bc30da7f23e8304a35f19485de95/mergekit/sparsify.py,
/// <c>rescaled_masked_tensor</c> with <c>RescaleNorm.l1</c>): the kept entries of each model's task vector, per tensor, are
/// multiplied by ‖τ‖₁ / ‖mask·τ‖₁, so the tensor keeps its L1 norm; when either norm is below 1e-7 nothing is scaled.
/// The default of DARE in a mergekit YAML.</item>
/// <item><see cref="None"/>: mergekit's <c>rescale: false</c>: kept entries are left as they are (TIES's default).</item>
/// </list>
/// </summary>
public enum TaskVectorRescale { InverseDensity, L1, None }

public static class TaskVectorRescales
{
    /// <summary>The spelling of the merge log, with `_` as mergekit's parameter names (`--rescale` reads it too, and shows `inverse-density`).</summary>
    public static string Name(this TaskVectorRescale r) => r switch
    {
        TaskVectorRescale.InverseDensity => "inverse_density",
        TaskVectorRescale.L1 => "l1",
        _ => "none",
    };
}
