using Ckpt.Inspection;
using Ckpt.Tests;

namespace Ckpt.Tests.Inspection;

public class TensorStatisticsTests
{
    const string Name = "model.layers.1.mlp.down_proj.weight";

    [Fact]
    public void Statistics_of_a_tensor_equal_a_direct_computation()
    {
        var path = TestPaths.Fixture("trajectory-llama-micro", "step-0400.safetensors");
        var values = RawSafetensors.Floats(path)[Name].Select(v => (double)v).ToArray();
        using var ckpt = Checkpoint.Open(path);
        var s = TensorStatistics.Of(ckpt, Name, bins: 10);

        double mean = values.Average();
        Assert.Equal(values.Length, s.Elements);
        Assert.Equal(values.Min(), s.Min);
        Assert.Equal(values.Max(), s.Max);
        Assert.Equal(mean, s.Mean!.Value, 12);
        Assert.Equal(Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length), s.Std!.Value, 12);
        Assert.Equal(values.Count(v => v == 0) / (double)values.Length, s.ZeroFraction);
        Assert.Equal(0, s.NaNCount);
        Assert.Equal(values.Length, s.BinCounts.Sum());
        double width = (values.Max() - values.Min()) / 10;
        for (int b = 0; b < 10; b++)
        {
            double lo = values.Min() + b * width, hi = values.Min() + (b + 1) * width;
            int expected = values.Count(v => v >= lo && (v < hi || b == 9));
            Assert.InRange(s.BinCounts[b], expected - 1, expected + 1); // an edge value may round into the neighbour bin
        }
    }

    [Fact]
    public void Statistics_read_only_that_tensors_bytes()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var entry = ckpt.GetEntry("model.layers.2.self_attn.k_proj.weight");
        ckpt.Storage.Statistics.Reset();
        TensorStatistics.Of(ckpt, entry.Name);
        Assert.Equal(entry.ByteCount, ckpt.Storage.Statistics.TensorBytesRead);
        Assert.True(ckpt.Manifest.TensorBytes > 20 * entry.ByteCount);
        Assert.Equal("stats", ckpt.LastTimeline.Operation);
    }

    [Fact]
    public void NaN_infinities_and_zeros_are_counted_apart_from_the_finite_moments()
    {
        var path = Path.Combine(TestPaths.TempDirectory("stats-special"), "s.safetensors");
        RawSafetensors.WriteFloats(path, ("t", [6], [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0, 2, 4]));
        using var ckpt = Checkpoint.Open(path);
        var s = TensorStatistics.Of(ckpt, "t", bins: 2);
        Assert.Equal((1, 1, 1), (s.NaNCount, s.PositiveInfinityCount, s.NegativeInfinityCount));
        Assert.Equal(1 / 6.0, s.ZeroFraction, 12);
        Assert.Equal((0.0, 4.0, 2.0), (s.Min!.Value, s.Max!.Value, s.Mean!.Value));
        Assert.Equal(Math.Sqrt(8 / 3.0), s.Std!.Value, 12);
        Assert.Equal([1L, 2L], s.BinCounts);
    }
}
