using System.Text.Json;
using Ckpt.Merging;

namespace Ckpt.Tests.Merging;

/// <summary>The LCSC evolutionary search on a synthetic quadratic whose optimum has negative coefficients.</summary>
public class LcscSearchTests
{
    static readonly double[] Optimum = [-0.4, 0.3, 0.5, 0.6];
    static readonly double[] Curvature = [1, 3, 0.5, 2];

    static double Quadratic(double[] a) => 1 + a.Select((x, i) => Curvature[i] * (x - Optimum[i]) * (x - Optimum[i])).Sum();

    [Fact]
    public void Search_finds_the_optimum_of_a_quadratic_with_a_negative_coefficient_within_300_evaluations()
    {
        var result = LcscSearch.Run(4, Quadratic, new LcscOptions { Budget = 300, Seed = 0 });

        Assert.True(result.Evaluations <= 300);
        Assert.Equal(1.0, result.Coefficients.Sum(), 12);
        for (int i = 0; i < 4; i++) Assert.Equal(Optimum[i], result.Coefficients[i], 0.02);
        Assert.True(result.Metric < 1 + 1e-3, $"metric {result.Metric}");
        Assert.True(result.Metric < Quadratic([0.25, 0.25, 0.25, 0.25]), "must beat the uniform start");
    }

    [Fact]
    public void Every_candidate_sums_to_one()
    {
        var result = LcscSearch.Run(5, a => a.Select(x => x * x).Sum(), new LcscOptions { Budget = 60, Seed = 4 });
        Assert.All(result.History, e => Assert.Equal(1.0, e.Coefficients.Sum(), 12));
    }

    [Fact]
    public void The_same_seed_gives_the_same_search_and_another_seed_a_different_one()
    {
        var a = LcscSearch.Run(4, Quadratic, new LcscOptions { Budget = 80, Seed = 9 });
        var b = LcscSearch.Run(4, Quadratic, new LcscOptions { Budget = 80, Seed = 9 });
        var c = LcscSearch.Run(4, Quadratic, new LcscOptions { Budget = 80, Seed = 10 });

        Assert.Equal(a.Coefficients, b.Coefficients);
        Assert.Equal(a.History.Select(h => h.Metric), b.History.Select(h => h.Metric));
        Assert.NotEqual(a.History.Select(h => h.Metric), c.History.Select(h => h.Metric));
    }

    [Fact]
    public void The_log_reports_each_generation_and_best_so_far_never_gets_worse()
    {
        var generations = new List<LcscGeneration>();
        var result = LcscSearch.Run(4, Quadratic, new LcscOptions { Budget = 100 }, new Progress(generations));

        Assert.Equal(result.Generations.Count, generations.Count);
        for (int g = 1; g < generations.Count; g++) Assert.True(generations[g].BestMetric <= generations[g - 1].BestMetric);
        using var json = JsonDocument.Parse(result.ToJson());
        Assert.Equal(result.Generations.Count, json.RootElement.GetProperty("generations").GetArrayLength());
        Assert.Equal(4, json.RootElement.GetProperty("coefficients").GetArrayLength());
    }

    sealed class Progress(List<LcscGeneration> into) : IProgress<LcscGeneration>
    {
        public void Report(LcscGeneration value) => into.Add(value);
    }
}
