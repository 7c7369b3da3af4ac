namespace Ckpt.Resilience;

/// <summary>
/// CheckFree (Blagoev et al. 2025, gensyn.ai/articles/checkfree): a pipeline stage whose weights are lost is
/// rebuilt without any checkpoint, from its neighbours. An interior stage i becomes
/// (ω₋ W₋ + ω₊ W₊) / (ω₋ + ω₊), where W± are the previous and next stages' weights and ω± their recent squared
/// gradient norms (the stage that is still learning faster counts more). The first or last stage has one
/// neighbour and is a copy of it (CheckFree+). Stages are paired parameter by parameter, in order; every
/// pair must have the same shape (stages of one model are built from identical blocks).
/// </summary>
public static class CheckFreeRecovery
{
    /// <summary>The weights of the lost stage, one array per parameter, in the neighbours' order.</summary>
    public static float[][] Rebuild(StageWeights? previous, StageWeights? next)
    {
        if (previous is null && next is null) throw new ArgumentException("a lost stage needs at least one neighbour");
        if (previous is null || next is null) return (previous ?? next)!.Parameters.Select(p => (float[])p.Clone()).ToArray();
        if (previous.Parameters.Count != next.Parameters.Count)
            throw new ArgumentException($"the neighbours have {previous.Parameters.Count} and {next.Parameters.Count} parameters; stages must be built alike");
        if (!(previous.GradientNormSquared >= 0) || !(next.GradientNormSquared >= 0))
            throw new ArgumentOutOfRangeException(nameof(previous), "squared gradient norms must be finite and ≥ 0");

        double total = previous.GradientNormSquared + next.GradientNormSquared;
        // both neighbours converged (zero gradients): nothing tells them apart, so weigh them equally
        float a = total > 0 ? (float)(previous.GradientNormSquared / total) : 0.5f;
        float b = 1f - a;
        var rebuilt = new float[previous.Parameters.Count][];
        for (int p = 0; p < rebuilt.Length; p++)
        {
            var x = previous.Parameters[p];
            var y = next.Parameters[p];
            if (x.Length != y.Length)
                throw new ArgumentException($"parameter {p} has {x.Length} elements in the previous stage and {y.Length} in the next");
            var w = new float[x.Length];
            for (int i = 0; i < w.Length; i++) w[i] = a * x[i] + b * y[i];
            rebuilt[p] = w;
        }
        return rebuilt;
    }
}

/// <summary>A neighbouring stage: its parameters in stage order and the squared L2 norm of its recent gradients.</summary>
public sealed record StageWeights(IReadOnlyList<float[]> Parameters, double GradientNormSquared);
