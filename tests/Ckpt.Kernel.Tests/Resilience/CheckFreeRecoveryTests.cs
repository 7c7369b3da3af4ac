using Ckpt.Resilience;

namespace Ckpt.Kernel.Tests.Resilience;

public class CheckFreeRecoveryTests
{
    static readonly float[][] Previous = [[1f, 2f, 3f], [10f, -10f]];
    static readonly float[][] Next = [[5f, 6f, 7f], [-2f, 2f]];

    [Fact]
    public void An_interior_stage_is_the_neighbours_average_weighted_by_their_squared_gradient_norms()
    {
        // ω₋ = 3, ω₊ = 1: the previous stage counts three times as much
        var rebuilt = CheckFreeRecovery.Rebuild(new StageWeights(Previous, 3.0), new StageWeights(Next, 1.0));
        for (int p = 0; p < Previous.Length; p++)
        for (int i = 0; i < Previous[p].Length; i++)
            Assert.Equal(0.75 * Previous[p][i] + 0.25 * Next[p][i], rebuilt[p][i], 5);
    }

    [Fact]
    public void The_first_and_last_stages_are_copies_of_their_only_neighbour()
    {
        var first = CheckFreeRecovery.Rebuild(null, new StageWeights(Next, 2.0));
        var last = CheckFreeRecovery.Rebuild(new StageWeights(Previous, 2.0), null);
        Assert.Equal(Next, first);
        Assert.Equal(Previous, last);
        Assert.NotSame(Next[0], first[0]);
    }

    [Fact]
    public void Neighbours_with_zero_gradients_are_averaged_equally()
    {
        var rebuilt = CheckFreeRecovery.Rebuild(new StageWeights(Previous, 0), new StageWeights(Next, 0));
        Assert.Equal([3f, 4f, 5f], rebuilt[0]);
        Assert.Equal([4f, -4f], rebuilt[1]);
    }

    [Fact]
    public void Neighbours_built_differently_are_refused()
    {
        Assert.Throws<ArgumentException>(() => CheckFreeRecovery.Rebuild(new StageWeights(Previous, 1), new StageWeights([[1f, 2f, 3f], [1f]], 1)));
        Assert.Throws<ArgumentException>(() => CheckFreeRecovery.Rebuild(new StageWeights(Previous, 1), new StageWeights([[1f, 2f, 3f]], 1)));
        Assert.Throws<ArgumentException>(() => CheckFreeRecovery.Rebuild(null, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => CheckFreeRecovery.Rebuild(new StageWeights(Previous, double.NaN), new StageWeights(Next, 1)));
    }
}
