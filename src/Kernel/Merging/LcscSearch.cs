namespace Ckpt.Merging;

public sealed record LcscOptions
{
    /// <summary>Number of metric evaluations, the starting point included.</summary>
    public int Budget { get; init; } = 200;
    public ulong Seed { get; init; }
    /// <summary>Offspring per generation; 0 picks 4 + ⌊3 ln K⌋ (CMA-ES's default).</summary>
    public int Population { get; init; }
    /// <summary>Initial mutation scale, in coefficient units.</summary>
    public double InitialStep { get; init; } = 0.3;
    /// <summary>Where the search starts; null is the uniform average (1/K each). Must sum to 1.</summary>
    public IReadOnlyList<double>? Start { get; init; }
}

/// <summary>The state after one generation, for live charts: best metric so far and its coefficients.</summary>
public sealed record LcscGeneration(int Index, int Evaluations, double BestMetric, double[] BestCoefficients, double GenerationBest, double Step);

public sealed record LcscEvaluation(double[] Coefficients, double Metric);

public sealed record LcscResult(double[] Coefficients, double Metric, int Evaluations,
    IReadOnlyList<LcscGeneration> Generations, IReadOnlyList<LcscEvaluation> History)
{
    /// <summary>The search log: best coefficients and metric, per-generation progress and every evaluation (camelCase, <see cref="Verbs.VerbJson"/>).</summary>
    public string ToJson() => Verbs.VerbJson.Serialize(this);
}

/// <summary>
/// LCSC (Liu et al., ICLR 2025): the merged model is Σᵢ αᵢθᵢ over K checkpoints of one run, Σαᵢ = 1 with αᵢ free to
/// be negative, and α is found by gradient-free evolutionary search on the target metric (minimised).
/// The search is a (μ/μ_w, λ) evolution strategy on the hyperplane Σα = 1: offspring are the mean plus
/// σ·z with z Gaussian projected to Σz = 0, the new mean is the log-weighted average of the best half, and σ
/// grows after a generation that improves on the best so far and shrinks otherwise. Deterministic per seed.
/// </summary>
public static class LcscSearch
{
    public static LcscResult Run(int k, Func<double[], double> metric, LcscOptions? options = null,
        IProgress<LcscGeneration>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new LcscOptions();
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), "at least one checkpoint is needed");
        if (options.Budget < 1) throw new ArgumentOutOfRangeException(nameof(options), "the budget must allow one evaluation");
        var start = options.Start?.ToArray() ?? Enumerable.Repeat(1.0 / k, k).ToArray();
        if (start.Length != k || Math.Abs(start.Sum() - 1) > 1e-9)
            throw new ArgumentException($"the start must have {k} coefficients summing to 1", nameof(options));

        var random = new SeededRandom(options.Seed);
        int lambda = options.Population > 0 ? options.Population : 4 + (int)Math.Floor(3 * Math.Log(k));
        int mu = Math.Max(1, lambda / 2);
        var recombination = Enumerable.Range(0, mu).Select(i => Math.Log(mu + 0.5) - Math.Log(i + 1)).ToArray();
        double wsum = recombination.Sum();
        for (int i = 0; i < mu; i++) recombination[i] /= wsum;

        var history = new List<LcscEvaluation>();
        var generations = new List<LcscGeneration>();
        double Evaluate(double[] a)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var m = metric((double[])a.Clone());
            history.Add(new LcscEvaluation((double[])a.Clone(), m));
            return double.IsNaN(m) ? double.PositiveInfinity : m;
        }

        var mean = start;
        var best = (double[])start.Clone();
        double bestMetric = Evaluate(start);
        double sigma = options.InitialStep;
        while (history.Count < options.Budget && k > 1)
        {
            int size = Math.Min(lambda, options.Budget - history.Count);
            var offspring = new (double[] X, double F)[size];
            for (int o = 0; o < size; o++)
            {
                var z = new double[k];
                for (int i = 0; i < k; i++) z[i] = random.NextGaussian();
                double zMean = z.Average();
                var x = new double[k];
                for (int i = 0; i < k; i++) x[i] = mean[i] + sigma * (z[i] - zMean);
                x[k - 1] = 1 - x.Take(k - 1).Sum();   // keep Σα = 1 exact despite rounding
                offspring[o] = (x, Evaluate(x));
            }
            Array.Sort(offspring, (a, b) => a.F.CompareTo(b.F));
            bool improved = offspring[0].F < bestMetric;
            if (improved) { bestMetric = offspring[0].F; best = offspring[0].X; }
            var next = new double[k];
            for (int r = 0; r < Math.Min(mu, size); r++)
                for (int i = 0; i < k; i++) next[i] += recombination[r] * offspring[r].X[i];
            if (size >= mu) mean = next;
            sigma *= improved ? 1.25 : 0.8;
            var g = new LcscGeneration(generations.Count, history.Count, bestMetric, (double[])best.Clone(), offspring[0].F, sigma);
            generations.Add(g);
            progress?.Report(g);
        }
        return new LcscResult(best, bestMetric, history.Count, generations, history);
    }
}
