namespace Ckpt.Merging;

internal enum Sparsification { None, Magnitude, Random }

/// <summary>
/// Task arithmetic and its sparsified, sign-consensus variants (mergekit's generalised task arithmetic):
/// for each model, τᵢ = θᵢ − base is sparsified (TIES: keep the top density·n by |τᵢ|; DARE: keep each entry
/// with probability density, then divide by density) and weighted, dᵢ = wᵢ·sparse(τᵢ). With consensus
/// (TIES, DARE-TIES) the elected sign is sign(Σ dᵢ) (ties go positive) and only entries of that sign count:
/// merged = Σ dᵢ·[sign dᵢ = elected] / Σ wᵢ·[sign dᵢ = elected], the disjoint mean (divisor 0 → 1).
/// Without it, merged = Σ dᵢ, divided by Σ wᵢ when normalised. Result: base + λ·merged.
/// </summary>
internal sealed class TaskVectorKernel : MergeKernel
{
    readonly double[] _weights, _densities;
    readonly Sparsification _sparsification;
    readonly bool _consensus, _normalize;
    readonly double _lambda;
    readonly ulong _seed;
    readonly MagnitudeThreshold[] _thresholds;
    readonly ulong[] _keys;

    public TaskVectorKernel(double[] weights, double[] densities, Sparsification sparsification, bool consensus,
        bool normalize, double lambda, ulong seed)
    {
        _weights = weights;
        _densities = densities;
        _sparsification = sparsification;
        _consensus = consensus;
        _normalize = normalize;
        _lambda = lambda;
        _seed = seed;
        _thresholds = sparsification == Sparsification.Magnitude ? weights.Select(_ => new MagnitudeThreshold()).ToArray() : [];
        _keys = new ulong[weights.Length];
    }

    public override int StatisticPasses =>
        _sparsification == Sparsification.Magnitude && _thresholds.Any(t => t.NeedsPasses) ? 2 : 0;

    public override bool UsesStatistics => _sparsification == Sparsification.Magnitude;

    public override void BeginTensor(string name, long elementCount)
    {
        for (int i = 0; i < _weights.Length; i++)
        {
            // mergekit: k = int(density * numel)
            if (_sparsification == Sparsification.Magnitude)
                _thresholds[i].Begin(elementCount, _densities[i] >= 1 ? elementCount : (long)(_densities[i] * elementCount));
            _keys[i] = DropMask.Key(_seed, i, name);
        }
    }

    public override void Observe(int pass, MergeChunk chunk)
    {
        // Each model has its own histogram, so models are observed in parallel.
        var b = chunk.Base!;
        Parallel.For(0, _weights.Length, i =>
        {
            var t = _thresholds[i];
            if (!t.NeedsPasses) return;
            var x = chunk.Models[i];
            for (int j = 0; j < chunk.Length; j++) t.Observe(pass, x[j] - b[j]);
        });
    }

    public override void EndPass(int pass)
    {
        foreach (var t in _thresholds) t.EndPass(pass);
    }

    public override void Combine(MergeChunk chunk, float[] output, int start, int end)
    {
        var b = chunk.Base!;
        int k = _weights.Length;
        Span<double> d = stackalloc double[k];
        for (int j = start; j < end; j++)
        {
            long element = chunk.Offset + j;
            double sum = 0;
            for (int i = 0; i < k; i++)
            {
                float tau = chunk.Models[i][j] - b[j];
                double kept = _sparsification switch
                {
                    Sparsification.Magnitude => _thresholds[i].Keeps(tau) ? tau : 0,
                    Sparsification.Random => _densities[i] >= 1 ? tau
                        : DropMask.Keeps(_keys[i], element, _densities[i]) ? tau / _densities[i] : 0,
                    _ => tau,
                };
                d[i] = _weights[i] * kept;
                sum += d[i];
            }

            double mixed, divisor;
            if (_consensus)
            {
                int elected = sum >= 0 ? 1 : -1;
                mixed = 0; divisor = 0;
                for (int i = 0; i < k; i++)
                    if (Math.Sign(d[i]) == elected) { mixed += d[i]; divisor += _weights[i]; }
                if (divisor == 0) divisor = 1;
            }
            else
            {
                mixed = sum;
                divisor = 0;
                for (int i = 0; i < k; i++) divisor += _weights[i];
                if (Math.Abs(divisor) < 1e-8) divisor = 1;
            }
            if (_normalize) mixed /= divisor;
            output[j] = (float)(b[j] + _lambda * mixed);
        }
    }
}
