using Ckpt.Inspection;
using Ckpt.Tests;

namespace Ckpt.Tests.Inspection;

public class CheckpointDiffTests
{
    [Trait("Category", "slow")]
    [Fact]
    public void Diff_of_two_training_steps_matches_an_independent_relative_L2_and_max_abs_difference()
    {
        var pa = TestPaths.Fixture("trajectory-llama-micro", "step-0025.safetensors");
        var pb = TestPaths.Fixture("trajectory-llama-micro", "step-0400.safetensors");
        var a = RawSafetensors.Floats(pa);
        var b = RawSafetensors.Floats(pb);

        using var ca = Checkpoint.Open(pa);
        using var cb = Checkpoint.Open(pb);
        var report = CheckpointDiff.Compare(ca, cb);

        Assert.Empty(report.Added);
        Assert.Empty(report.Removed);
        Assert.Empty(report.Reshaped);
        Assert.Equal(a.Count, report.Changes.Count);
        foreach (var c in report.Changes)
        {
            double num = 0, den = 0, maxAbs = 0;
            for (int i = 0; i < a[c.Name].Length; i++)
            {
                double d = (double)b[c.Name][i] - a[c.Name][i];
                num += d * d;
                den += (double)a[c.Name][i] * a[c.Name][i];
                maxAbs = Math.Max(maxAbs, Math.Abs(d));
            }
            double expected = Math.Sqrt(num) / Math.Sqrt(den);
            Assert.True(Math.Abs(c.RelativeL2 - expected) <= 1e-9 * Math.Max(1, expected), $"{c.Name}: {c.RelativeL2} vs {expected}");
            Assert.Equal(maxAbs, c.MaxAbsDiff, 12);
        }
        // Training moved every tensor; a diff that reported zeros would pass the loop above only if the fixture were static.
        Assert.All(report.Changes, c => Assert.True(c.RelativeL2 > 0, c.Name));
    }

    [Fact]
    public void Per_layer_change_pools_the_layer_tensors_norms()
    {
        using var ca = Checkpoint.Open(TestPaths.Fixture("trajectory-llama-micro", "step-0025.safetensors"));
        using var cb = Checkpoint.Open(TestPaths.Fixture("trajectory-llama-micro", "step-0400.safetensors"));
        var report = CheckpointDiff.Compare(ca, cb);
        var layer = report.Layers.Single(l => l.Layer == "model.layers.1");
        var members = report.Changes.Where(c => c.Name.StartsWith("model.layers.1.", StringComparison.Ordinal)).ToList();
        Assert.Equal(members.Count, layer.Tensors);
        double expected = Math.Sqrt(members.Sum(c => c.NormDiff * c.NormDiff)) / Math.Sqrt(members.Sum(c => c.NormA * c.NormA));
        Assert.Equal(expected, layer.RelativeL2, 12);
        Assert.Equal(members.Max(c => c.MaxAbsDiff), layer.MaxAbsDiff);
    }

    [Fact]
    public void Added_removed_and_reshaped_tensors_are_listed_and_not_compared()
    {
        var dir = TestPaths.TempDirectory("diff-structure");
        var pa = Path.Combine(dir, "a.safetensors");
        var pb = Path.Combine(dir, "b.safetensors");
        RawSafetensors.WriteFloats(pa, ("same", [2, 2], [1, 2, 3, 4]), ("gone", [1], [1]), ("grows", [2], [1, 1]));
        RawSafetensors.WriteFloats(pb, ("same", [2, 2], [1, 2, 3, 8]), ("new", [1], [1]), ("grows", [3], [1, 1, 1]));
        using var ca = Checkpoint.Open(pa);
        using var cb = Checkpoint.Open(pb);
        var report = CheckpointDiff.Compare(ca, cb);
        Assert.Equal(["new"], report.Added.Select(t => t.Name));
        Assert.Equal(["gone"], report.Removed.Select(t => t.Name));
        Assert.Equal(["grows"], report.Reshaped.Select(t => t.Name));
        var same = Assert.Single(report.Changes);
        Assert.Equal(4, same.MaxAbsDiff);
        Assert.Equal(4 / Math.Sqrt(1 + 4 + 9 + 16), same.RelativeL2, 12);
    }

    [Fact]
    public void Diff_reads_each_tensor_pair_once_and_nothing_else()
    {
        using var ca = Checkpoint.Open(TestPaths.Fixture("trajectory-llama-micro", "step-0025.safetensors"));
        using var cb = Checkpoint.Open(TestPaths.Fixture("trajectory-llama-micro", "step-0400.safetensors"));
        ca.Storage.Statistics.Reset();
        cb.Storage.Statistics.Reset();
        CheckpointDiff.Compare(ca, cb, new Ckpt.Conversion.TensorFilter(["model.layers.0.**"]));
        long expected = ca.Manifest.Tensors.Where(t => t.Name.StartsWith("model.layers.0.", StringComparison.Ordinal)).Sum(t => t.ByteCount);
        Assert.Equal(expected, ca.Storage.Statistics.TensorBytesRead);
        Assert.Equal(expected, cb.Storage.Statistics.TensorBytesRead);
        Assert.Equal("diff", ca.LastTimeline.Operation);
    }
}
