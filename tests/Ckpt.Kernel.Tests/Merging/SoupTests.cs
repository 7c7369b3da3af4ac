using Ckpt.Merging;
using static Ckpt.Tests.Merging.MergeTestData;

namespace Ckpt.Tests.Merging;

/// <summary>
/// Soups over the trajectory checkpoints, with a metric that needs no model: squared distance of the soup's
/// weights to a target (the mean of steps 350-400), so adding the right ingredients measurably helps.
/// </summary>
public class SoupTests
{
    static readonly string[] Ingredients = [Step(250), Step(300), Step(350), Step(375), Step(400)];

    static Func<MergeSpec, double> DistanceTo(int[] targetSteps)
    {
        var inputs = targetSteps.Select(s => Floats(Step(s))).ToArray();
        var target = inputs[0].Keys.ToDictionary(n => n, n => Enumerable.Range(0, inputs[0][n].Length)
            .Select(j => inputs.Average(m => (double)m[n][j])).ToArray());
        return spec =>
        {
            var sink = Run(spec);
            return target.Sum(kv => sink.Floats(kv.Key).Select((x, j) => (x - kv.Value[j]) * (x - kv.Value[j])).Sum());
        };
    }

    [Fact]
    public void Greedy_soup_never_returns_a_worse_metric_than_its_best_single_ingredient()
    {
        var metric = DistanceTo([350, 375, 400]);

        var soup = Soup.Greedy(Ingredients, metric);

        double bestSingle = Ingredients.Min(c => metric(Soup.UniformSpec([c])));
        Assert.True(soup.Metric <= bestSingle);
        Assert.True(soup.Ingredients.Count > 1, "averaging towards the target must have been accepted at least once");
        Assert.Equal(soup.Metric, metric(soup.Spec()), 9);
        Assert.Equal(Ingredients.Length + Ingredients.Length - 1, soup.Steps.Count);
    }

    [Fact]
    public void Greedy_soup_keeps_only_the_best_ingredient_when_no_addition_helps()
    {
        var metric = DistanceTo([400]);

        var soup = Soup.Greedy(Ingredients, metric);

        Assert.Equal([Step(400)], soup.Ingredients);
        Assert.Equal(0, soup.Metric, 12);
        Assert.All(soup.Steps.Skip(Ingredients.Length), s => Assert.False(s.Accepted));
    }

    [Fact]
    public void Greedy_soup_can_maximise_a_metric()
    {
        var distance = DistanceTo([350, 375, 400]);
        var minimised = Soup.Greedy(Ingredients, distance);
        var maximised = Soup.Greedy(Ingredients, s => -distance(s), MetricGoal.Maximize);
        Assert.Equal(minimised.Ingredients, maximised.Ingredients);
    }
}
