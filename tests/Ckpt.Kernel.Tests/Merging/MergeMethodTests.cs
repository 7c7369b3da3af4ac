using Ckpt.Merging;
using Ckpt.Tensors;
using static Ckpt.Tests.Merging.MergeTestData;

namespace Ckpt.Tests.Merging;

/// <summary>
/// Each method, run through the streaming executor on the real trajectory-llama-micro checkpoints, equals a
/// reference computed here from mergekit's formulas on the raw floats. Tolerance: 1e-6 relative + 1e-7 absolute
/// (the merge accumulates in float64 and rounds once to float32; the reference stays in float64).
/// </summary>
public class MergeMethodTests
{
    [Fact]
    public void Linear_merge_with_normalised_weights_equals_the_weighted_average_of_the_raw_floats()
    {
        int[] steps = [200, 300, 400];
        double[] w = [1, 2, 3];
        var inputs = steps.Select(s => Floats(Step(s))).ToArray();
        var expected = inputs[0].Keys.ToDictionary(n => n, n => Enumerable.Range(0, inputs[0][n].Length)
            .Select(j => (w[0] * inputs[0][n][j] + w[1] * inputs[1][n][j] + w[2] * inputs[2][n][j]) / 6.0).ToArray());

        var sink = Run(new MergeSpec { Method = MergeMethods.Linear, Models = steps.Select((s, i) => new MergeInput(Step(s), w[i])).ToArray() });

        AssertTensorsClose(expected, sink);
    }

    [Fact]
    public void Linear_merge_without_normalize_is_the_plain_weighted_sum()
    {
        var a = Floats(Step(100));
        var b = Floats(Step(400));
        var expected = a.Keys.ToDictionary(n => n, n => a[n].Select((x, j) => 0.75 * x + 0.5 * b[n][j]).ToArray());

        var sink = Run(new MergeSpec
        {
            Method = MergeMethods.Linear, Normalize = false,
            Models = [new MergeInput(Step(100), 0.75), new MergeInput(Step(400), 0.5)],
        });

        AssertTensorsClose(expected, sink);
    }

    [Fact]
    public void Uniform_average_of_the_last_four_checkpoints_equals_the_elementwise_mean()
    {
        int[] steps = [325, 350, 375, 400];
        var inputs = steps.Select(s => Floats(Step(s))).ToArray();
        var expected = inputs[0].Keys.ToDictionary(n => n, n => Enumerable.Range(0, inputs[0][n].Length)
            .Select(j => inputs.Average(m => (double)m[n][j])).ToArray());

        var sink = Run(Soup.UniformSpec(steps.Select(Step).ToArray()));

        AssertTensorsClose(expected, sink);
    }

    [Fact]
    public void Slerp_between_an_early_and_a_late_checkpoint_follows_the_spherical_formula_per_tensor()
    {
        const double t = 0.3;
        var a = Floats(Step(25));
        var b = Floats(Step(400));
        int spherical = 0;
        var expected = new Dictionary<string, double[]>();
        foreach (var n in a.Keys)
        {
            double dot = 0, na = 0, nb = 0;
            for (int j = 0; j < a[n].Length; j++) { dot += (double)a[n][j] * b[n][j]; na += (double)a[n][j] * a[n][j]; nb += (double)b[n][j] * b[n][j]; }
            double cos = dot / Math.Sqrt(na) / Math.Sqrt(nb);
            double s0 = 1 - t, s1 = t;
            if (Math.Abs(cos) <= 0.9995)
            {
                double theta = Math.Acos(cos);
                s0 = Math.Sin((1 - t) * theta) / Math.Sin(theta);
                s1 = Math.Sin(t * theta) / Math.Sin(theta);
                spherical++;
            }
            expected[n] = a[n].Select((x, j) => s0 * x + s1 * b[n][j]).ToArray();
        }

        var sink = Run(new MergeSpec { Method = MergeMethods.Slerp, T = t, Models = [new MergeInput(Step(25)), new MergeInput(Step(400))] });

        Assert.True(spherical >= a.Count / 2, $"only {spherical} of {a.Count} tensors took the spherical branch; the test would not exercise it");
        AssertTensorsClose(expected, sink, relative: 1e-5);
    }

    [Fact]
    public void Slerp_of_colinear_tensors_falls_back_to_linear_interpolation()
    {
        // B = 2A: the normalised vectors coincide, so sin θ = 0 and only the lerp (1-t)A + t·B = (1+t)A is defined.
        using var dir = new TempDirectory();
        var a = Floats(Step(400));
        WriteSafetensors(Path.Combine(dir.Path, "a.safetensors"), a.Select(kv => F32(kv.Key, [kv.Value.Length], kv.Value)));
        WriteSafetensors(Path.Combine(dir.Path, "b.safetensors"), a.Select(kv => F32(kv.Key, [kv.Value.Length], kv.Value.Select(x => 2 * x).ToArray())));
        var sink = new MemoryTensorSink();

        var report = MergeExecutor.Run(new MergeSpec
        {
            Method = MergeMethods.Slerp, T = 0.25,
            Models = [new MergeInput(Path.Combine(dir.Path, "a.safetensors")), new MergeInput(Path.Combine(dir.Path, "b.safetensors"))],
        }, sink);

        Assert.Equal(a.Count, report.ColinearFallbacks.Count);
        AssertTensorsClose(a.ToDictionary(kv => kv.Key, kv => kv.Value.Select(x => 1.25 * x).ToArray()), sink);
    }

    [Fact]
    public void Slerp_coefficients_switch_to_lerp_exactly_above_the_dot_threshold()
    {
        var below = SlerpMerge.Coefficients(0.5, 0.9994, 1, 1);
        var above = SlerpMerge.Coefficients(0.5, 0.9996, 1, 1);
        Assert.False(below.Lerp);
        Assert.True(above.Lerp);
        Assert.Equal((0.5, 0.5), (above.S0, above.S1));
        Assert.True(below.S0 > 0.5, "spherical weights of equal-length vectors exceed the linear ones");
    }

    [Fact]
    public void Task_arithmetic_adds_lambda_times_the_weighted_task_vectors_to_the_base()
    {
        var b = Floats(Step(100));
        var x = Floats(Step(300));
        var y = Floats(Step(400));
        var expected = b.Keys.ToDictionary(n => n, n => b[n].Select((bj, j) =>
            bj + 0.8 * (0.7 * (x[n][j] - bj) + 0.5 * (y[n][j] - bj))).ToArray());

        var sink = Run(new MergeSpec
        {
            Method = MergeMethods.TaskArithmetic, BaseModel = Step(100), Lambda = 0.8,
            Models = [new MergeInput(Step(300), 0.7), new MergeInput(Step(400), 0.5)],
        });

        AssertTensorsClose(expected, sink);
    }

    static MergeSpec Ties(double density, double lambda = 1) => new()
    {
        Method = MergeMethods.Ties, BaseModel = Step(100), Density = density, Lambda = lambda,
        Models = [new MergeInput(Step(200), 1.0), new MergeInput(Step(300), 0.6), new MergeInput(Step(400), 0.9)],
    };

    /// <summary>TIES from the paper and mergekit: trim to the top k = ⌊density·n⌋ by |τ|, elect sign(Σ wτ), disjoint weighted mean.</summary>
    static Dictionary<string, double[]> TiesReference(double density, double lambda)
    {
        var b = Floats(Step(100));
        var models = new[] { 200, 300, 400 }.Select(s => Floats(Step(s))).ToArray();
        double[] w = [1.0, 0.6, 0.9];
        var result = new Dictionary<string, double[]>();
        foreach (var n in b.Keys)
        {
            int len = b[n].Length;
            var trimmed = models.Select((m, i) =>
            {
                var tau = m[n].Select((v, j) => v - b[n][j]).ToArray();
                long k = (long)(density * len);
                float threshold = tau.Select(Math.Abs).OrderDescending().ElementAt((int)k - 1);
                return tau.Select(t => Math.Abs(t) >= threshold ? w[i] * t : 0.0).ToArray();
            }).ToArray();
            result[n] = new double[len];
            for (int j = 0; j < len; j++)
            {
                int elected = trimmed.Sum(d => d[j]) >= 0 ? 1 : -1;
                double sum = 0, weight = 0;
                for (int i = 0; i < models.Length; i++)
                    if (Math.Sign(trimmed[i][j]) == elected) { sum += trimmed[i][j]; weight += w[i]; }
                result[n][j] = b[n][j] + lambda * (weight == 0 ? sum : sum / weight);
            }
        }
        return result;
    }

    [Fact]
    public void Ties_trims_by_magnitude_elects_signs_and_takes_the_disjoint_mean_like_the_formula()
    {
        AssertTensorsClose(TiesReference(0.3, 1.2), Run(Ties(0.3, 1.2)));
    }

    [Fact]
    public void Ties_gives_the_same_result_when_tensors_are_streamed_in_small_chunks()
    {
        // 500 elements per chunk splits every matrix, so the magnitude threshold is found across chunks.
        var whole = Run(Ties(0.2));
        var chunked = Run(Ties(0.2), chunkElements: 500);
        foreach (var n in whole.Names) Assert.Equal(whole.Floats(n), chunked.Floats(n));
        AssertTensorsClose(TiesReference(0.2, 1), chunked);
    }

    [Fact]
    public void Ties_sign_election_on_a_hand_made_example_keeps_only_the_majority_mass()
    {
        // Three task vectors over four entries (base 0, weights 1, density 0.5 keeps the two largest of each).
        //   m1 [ 0.5, -0.2,  0.1, 0]  -> [ 0.5, -0.2, 0,   0]
        //   m2 [ 0.25, 0.3, -0.4, 0]  -> [ 0,    0.3, -0.4, 0]
        //   m3 [-1.0,  0.3,  0.5, 0]  -> [-1.0,  0,    0.5, 0]
        // sums -0.5, 0.1, 0.1, 0: elected - + + +; disjoint means -1.0, 0.3, 0.5, 0 (no entry agrees: 0).
        var spec = new MergeSpec
        {
            Method = MergeMethods.Ties, BaseModel = "base", Density = 0.5,
            Models = [new MergeInput("m1"), new MergeInput("m2"), new MergeInput("m3")],
        };
        var merge = spec.Method.CreateMerge(spec);
        var chunk = new MergeChunk(3, withBase: true, capacity: 4) { Offset = 0, Length = 4 };
        new float[] { 0.5f, -0.2f, 0.1f, 0 }.CopyTo(chunk.Models[0], 0);
        new float[] { 0.25f, 0.3f, -0.4f, 0 }.CopyTo(chunk.Models[1], 0);
        new float[] { -1.0f, 0.3f, 0.5f, 0 }.CopyTo(chunk.Models[2], 0);
        var output = new float[4];

        merge.BeginTensor("w", 4);
        for (int pass = 0; pass < merge.StatisticPasses; pass++) { merge.Observe(pass, chunk); merge.EndPass(pass); }
        merge.Combine(chunk, output, 0, 4);

        Assert.Equal([-1.0f, 0.3f, 0.5f, 0f], output);
    }

    static MergeSpec Dare(MergeMethod method, ulong seed) => new()
    {
        Method = method, BaseModel = Step(100), Density = 0.5, Seed = seed,
        Models = [new MergeInput(Step(300), 0.6), new MergeInput(Step(400), 0.8, Density: 0.7)],
    };

    /// <summary>DARE: keep each τ entry with probability density (mask from the seeded stream), rescale by 1/density.</summary>
    static Dictionary<string, double[]> DareReference(bool ties, ulong seed)
    {
        var b = Floats(Step(100));
        var models = new[] { Floats(Step(300)), Floats(Step(400)) };
        double[] w = [0.6, 0.8], density = [0.5, 0.7];
        var result = new Dictionary<string, double[]>();
        foreach (var n in b.Keys)
        {
            var keys = new[] { DropMask.Key(seed, 0, n), DropMask.Key(seed, 1, n) };
            result[n] = b[n].Select((bj, j) =>
            {
                var d = models.Select((m, i) =>
                {
                    float tau = m[n][j] - bj;
                    return DropMask.Uniform(keys[i], j) < density[i] ? w[i] * tau / density[i] : 0.0;
                }).ToArray();
                if (!ties) return bj + d.Sum();
                int elected = d.Sum() >= 0 ? 1 : -1;
                return bj + d.Where(x => Math.Sign(x) == elected).Sum();
            }).ToArray();
        }
        return result;
    }

    [Fact]
    public void Dare_linear_drops_with_the_seeded_mask_and_rescales_by_one_over_density()
    {
        AssertTensorsClose(DareReference(ties: false, seed: 7), Run(Dare(MergeMethods.DareLinear, 7)));
    }

    [Fact]
    public void Dare_ties_drops_rescales_then_elects_signs_without_normalising()
    {
        AssertTensorsClose(DareReference(ties: true, seed: 7), Run(Dare(MergeMethods.DareTies, 7)));
    }

    [Fact]
    public void Dare_masks_are_the_same_for_the_same_seed_and_differ_for_another()
    {
        var first = Run(Dare(MergeMethods.DareLinear, 11));
        var again = Run(Dare(MergeMethods.DareLinear, 11), chunkElements: 333);
        var other = Run(Dare(MergeMethods.DareLinear, 12));
        const string name = "model.layers.0.mlp.up_proj.weight";

        foreach (var n in first.Names) Assert.Equal(first.Floats(n), again.Floats(n));
        int differing = first.Floats(name).Zip(other.Floats(name)).Count(p => p.First != p.Second);
        Assert.True(differing > first.Floats(name).Length / 4, $"only {differing} entries changed with the seed");
    }

    [Fact]
    public void Dare_keeps_about_density_of_the_entries()
    {
        var key = DropMask.Key(3, 0, "model.layers.0.mlp.up_proj.weight");
        const int n = 100_000;
        int kept = Enumerable.Range(0, n).Count(j => DropMask.Keeps(key, j, 0.3));
        Assert.InRange(kept / (double)n, 0.295, 0.305);   // ±3.5 standard deviations of a binomial(1e5, 0.3)
    }

    [Fact]
    public void Bfloat16_output_is_the_float32_merge_rounded_to_nearest_even()
    {
        var spec = new MergeSpec { Method = MergeMethods.Linear, Models = [new MergeInput(Step(375)), new MergeInput(Step(400))] };
        var f32 = Run(spec);
        var bf16 = Run(spec with { OutputDType = DType.BF16 });

        foreach (var n in f32.Names)
        {
            Assert.Equal(DType.BF16, bf16.DTypeOf(n));
            var expected = f32.Floats(n).Select(ElementConversion.SingleToBFloat16).ToArray();
            var actual = new ushort[expected.Length];
            Buffer.BlockCopy(bf16.BytesOf(n), 0, actual, 0, actual.Length * 2);
            Assert.Equal(expected, actual);
        }
    }
}
