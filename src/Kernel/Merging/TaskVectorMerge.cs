namespace Ckpt.Merging;

internal enum Sparsification { None, Magnitude, Random }

/// <summary>
/// Task arithmetic and its sparsified, sign-consensus variants (mergekit's generalised task arithmetic):
/// for each model, τᵢ = θᵢ − base is sparsified (TIES: keep the top density·n by |τᵢ|; DARE: keep each entry
/// with probability density), the kept entries rescaled (<see cref="TaskVectorRescale"/>), and weighted,
/// dᵢ = wᵢ·sparse(τᵢ). With consensus (TIES, DARE-TIES) the elected sign is sign(Σ dᵢ) (ties go positive) and only
/// entries of that sign count: merged = Σ dᵢ·[sign dᵢ = elected] / Σ wᵢ·[sign dᵢ = elected], the disjoint mean
/// (divisor 0 → 1). Without it, merged = Σ dᵢ, divided by Σ wᵢ when normalised. Result: base + λ·merged.
/// </summary>
internal sealed class TaskVectorMerge(double[] weights, double[] densities, Sparsification sparsification, bool consensus,
    bool normalize, double lambda, ulong seed, TaskVectorRescale rescale) : TensorMerge
{
    // mergekit's rescaled_masked_tensor leaves a tensor unscaled when either L1 norm is below this.
    const double L1Epsilon = 1e-7;

    readonly bool _l1 = rescale == TaskVectorRescale.L1 && sparsification != Sparsification.None;
    readonly MagnitudeThreshold[] _thresholds =
        sparsification == Sparsification.Magnitude ? weights.Select(_ => new MagnitudeThreshold()).ToArray() : [];
    readonly ulong[] _keys = new ulong[weights.Length];
    // Kept entries are divided by this: density (1/density), ‖mask·τ‖₁ / ‖τ‖₁ (L1) or 1.
    readonly double[] _divisors = new double[weights.Length];
    readonly double[] _normBefore = new double[weights.Length], _normAfter = new double[weights.Length];

    int ThresholdPasses => sparsification == Sparsification.Magnitude && _thresholds.Any(t => t.NeedsPasses) ? 2 : 0;

    /// <summary>Two radix passes for a magnitude threshold, then one for the L1 norms of τ and of its kept part.</summary>
    public override int StatisticPasses => ThresholdPasses + (_l1 ? 1 : 0);

    public override bool UsesStatistics => sparsification == Sparsification.Magnitude || _l1;

    public override void BeginTensor(string name, long elementCount)
    {
        for (int i = 0; i < weights.Length; i++)
        {
            // mergekit: k = int(density * numel)
            if (sparsification == Sparsification.Magnitude)
                _thresholds[i].Begin(elementCount, densities[i] >= 1 ? elementCount : (long)(densities[i] * elementCount));
            _keys[i] = DropMask.Key(seed, i, name);
            _divisors[i] = rescale == TaskVectorRescale.InverseDensity && sparsification == Sparsification.Random && densities[i] < 1
                ? densities[i] : 1;
            _normBefore[i] = _normAfter[i] = 0;
        }
    }

    public override void Observe(int pass, MergeChunk chunk)
    {
        // Each model has its own statistics, so models are observed in parallel.
        var b = chunk.Base!;
        bool norms = pass == ThresholdPasses;
        Parallel.For(0, weights.Length, i =>
        {
            var x = chunk.Models[i];
            if (norms)
            {
                double before = 0, after = 0;
                for (int j = 0; j < chunk.Length; j++)
                {
                    float tau = x[j] - b[j];
                    before += Math.Abs(tau);
                    if (Keeps(i, tau, chunk.Offset + j)) after += Math.Abs(tau);
                }
                _normBefore[i] += before;
                _normAfter[i] += after;
                return;
            }
            var t = _thresholds[i];
            if (!t.NeedsPasses) return;
            for (int j = 0; j < chunk.Length; j++) t.Observe(pass, x[j] - b[j]);
        });
    }

    public override void EndPass(int pass)
    {
        if (pass < ThresholdPasses)
        {
            foreach (var t in _thresholds) t.EndPass(pass);
            return;
        }
        for (int i = 0; i < weights.Length; i++)
            _divisors[i] = _normBefore[i] < L1Epsilon || _normAfter[i] < L1Epsilon ? 1 : _normAfter[i] / _normBefore[i];
    }

    bool Keeps(int model, float tau, long element) => sparsification switch
    {
        Sparsification.Magnitude => _thresholds[model].Keeps(tau),
        Sparsification.Random => densities[model] >= 1 || DropMask.Keeps(_keys[model], element, densities[model]),
        _ => true,
    };

    public override void Combine(MergeChunk chunk, float[] output, int start, int end)
    {
        var b = chunk.Base!;
        int k = weights.Length;
        Span<double> d = stackalloc double[k];
        for (int j = start; j < end; j++)
        {
            long element = chunk.Offset + j;
            double sum = 0;
            for (int i = 0; i < k; i++)
            {
                float tau = chunk.Models[i][j] - b[j];
                d[i] = weights[i] * (Keeps(i, tau, element) ? tau / _divisors[i] : 0);
                sum += d[i];
            }

            double mixed, divisor;
            if (consensus)
            {
                int elected = sum >= 0 ? 1 : -1;
                mixed = 0; divisor = 0;
                for (int i = 0; i < k; i++)
                    if (Math.Sign(d[i]) == elected) { mixed += d[i]; divisor += weights[i]; }
                if (divisor == 0) divisor = 1;
            }
            else
            {
                mixed = sum;
                divisor = 0;
                for (int i = 0; i < k; i++) divisor += weights[i];
                if (Math.Abs(divisor) < 1e-8) divisor = 1;
            }
            if (normalize) mixed /= divisor;
            output[j] = (float)(b[j] + lambda * mixed);
        }
    }
}
