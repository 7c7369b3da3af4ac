namespace Ckpt.Merging;

/// <summary>
/// Spherical interpolation between two models, each tensor treated as one vector (mergekit `slerp`): the angle
/// comes from the normalised vectors, the coefficients are applied to the unnormalised ones. When the
/// normalised vectors are near-colinear (|cos| &gt; 0.9995) sin θ is ill-conditioned and it falls back to lerp.
/// </summary>
internal sealed class SlerpMerge(double t) : TensorMerge
{
    public const double DotThreshold = 0.9995;
    const double Epsilon = 1e-8;

    double _dot, _norm0, _norm1;
    public double S0 { get; private set; }
    public double S1 { get; private set; }
    /// <summary>Whether the last tensor fell back to linear interpolation.</summary>
    public bool UsedLerp { get; private set; }

    public override int StatisticPasses => 1;
    public override bool UsesStatistics => true;

    public override void BeginTensor(string name, long elementCount) => _dot = _norm0 = _norm1 = 0;

    public override void Observe(int pass, MergeChunk chunk)
    {
        var a = chunk.Model(0);
        var b = chunk.Model(1);
        double dot = 0, n0 = 0, n1 = 0;
        for (int j = 0; j < a.Length; j++)
        {
            dot += (double)a[j] * b[j];
            n0 += (double)a[j] * a[j];
            n1 += (double)b[j] * b[j];
        }
        _dot += dot; _norm0 += n0; _norm1 += n1;
    }

    public override void EndPass(int pass) => (S0, S1, UsedLerp) = Coefficients(t, _dot, Math.Sqrt(_norm0), Math.Sqrt(_norm1));

    internal static (double S0, double S1, bool Lerp) Coefficients(double t, double dot, double norm0, double norm1)
    {
        // Normalising divides only by norms above eps, as mergekit's normalize() does.
        double cos = dot / (norm0 > Epsilon ? norm0 : 1) / (norm1 > Epsilon ? norm1 : 1);
        if (Math.Abs(cos) > DotThreshold) return (1 - t, t, true);
        double theta = Math.Acos(cos);
        double sinTheta = Math.Sin(theta);
        return (Math.Sin(theta - theta * t) / sinTheta, Math.Sin(theta * t) / sinTheta, false);
    }

    public override void Combine(MergeChunk chunk, float[] output, int start, int end)
    {
        var a = chunk.Models[0];
        var b = chunk.Models[1];
        for (int j = start; j < end; j++) output[j] = (float)(S0 * a[j] + S1 * b[j]);
    }
}
