namespace Ckpt.Merging;

/// <summary>Whether a smaller or a larger metric is better (loss vs accuracy).</summary>
public enum MetricGoal { Minimize, Maximize }

/// <summary>One candidate a greedy soup tried: the ingredients it would hold, its metric, and whether it was kept.</summary>
public sealed record SoupStep(IReadOnlyList<string> Ingredients, double Metric, bool Accepted);

public sealed record SoupResult(IReadOnlyList<string> Ingredients, double Metric, IReadOnlyList<SoupStep> Steps)
{
    public MergeSpec Spec(DType? dtype = null) => Soup.UniformSpec(Ingredients, dtype);
}

/// <summary>
/// Model soups (Wortsman et al., ICML 2022): the uniform soup averages fine-tunes of one init; the greedy soup
/// sorts them by their own metric and adds each, in that order, only if the soup's metric improves — so it
/// is never worse than its best single ingredient. The metric sees the candidate soup as a <see cref="MergeSpec"/>
/// (uniform linear merge) and may run it in memory or to disk as the model size allows.
/// </summary>
public static class Soup
{
    public static MergeSpec UniformSpec(IReadOnlyList<string> checkpoints, DType? dtype = null) => new()
    {
        Method = MergeMethods.Linear,
        Models = checkpoints.Select(c => new MergeInput(c, 1.0)).ToArray(),
        Normalize = true,
        OutputDType = dtype,
    };

    public static SoupResult Greedy(IReadOnlyList<string> checkpoints, Func<MergeSpec, double> metric,
        MetricGoal goal = MetricGoal.Minimize, CancellationToken cancellationToken = default)
    {
        if (checkpoints.Count == 0) throw new ArgumentException("a soup needs at least one checkpoint", nameof(checkpoints));
        bool Better(double a, double b) => goal == MetricGoal.Minimize ? a < b : a > b;

        var steps = new List<SoupStep>();
        var single = new List<(string Path, double Metric)>();
        foreach (var c in checkpoints)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var m = metric(UniformSpec([c]));
            single.Add((c, m));
            steps.Add(new SoupStep([c], m, false));
        }
        var ordered = single.OrderBy(s => goal == MetricGoal.Minimize ? s.Metric : -s.Metric).ToList();
        var soup = new List<string> { ordered[0].Path };
        double best = ordered[0].Metric;
        steps[single.FindIndex(s => s.Path == ordered[0].Path)] = new SoupStep([ordered[0].Path], best, true);
        foreach (var (path, _) in ordered.Skip(1))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var candidate = soup.Append(path).ToArray();
            var m = metric(UniformSpec(candidate));
            bool accept = Better(m, best);
            steps.Add(new SoupStep(candidate, m, accept));
            if (accept) { soup.Add(path); best = m; }
        }
        return new SoupResult(soup, best, steps);
    }
}
