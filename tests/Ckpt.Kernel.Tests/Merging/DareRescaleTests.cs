using System.Text.Json;
using Ckpt.Errors;
using Ckpt.Merging;
using Xunit.Abstractions;
using static Ckpt.Tests.Merging.MergeTestData;

namespace Ckpt.Tests.Merging;

/// <summary>
/// DARE's three rescales and TIES's two (<see cref="TaskVectorRescale"/>) against mergekit's current formula written in
/// plain torch (tests/python/dare_rescale_reference.py), with the same DARE drop masks (<see cref="DropMask"/>) handed to it.
/// </summary>
public class DareRescaleTests(ITestOutputHelper output)
{
    // float32 torch (pairwise sums) against Ckpt's double accumulation rounded once. Measured: the largest difference
    // over the 57,072 elements is 1.19e-7 (one float32 ulp near 1) for every method and rescale.
    const double Relative = 2e-6, Absolute = 2e-7;

    static MergeSpec Dare(MergeMethod method, TaskVectorRescale? rescale) => new()
    {
        Method = method, BaseModel = Step(100), Density = 0.5, Seed = 7, Rescale = rescale,
        Models = [new MergeInput(Step(300), 0.6), new MergeInput(Step(400), 0.8, Density: 0.7)],
    };

    static readonly (string Method, TaskVectorRescale Rescale)[] Cases =
    [
        ("dare_linear", TaskVectorRescale.L1), ("dare_linear", TaskVectorRescale.None), ("dare_linear", TaskVectorRescale.InverseDensity),
        ("dare_ties", TaskVectorRescale.L1), ("dare_ties", TaskVectorRescale.None), ("dare_ties", TaskVectorRescale.InverseDensity),
        ("ties", TaskVectorRescale.L1), ("ties", TaskVectorRescale.None),
    ];

    public static TheoryData<string, TaskVectorRescale> Rescales()
    {
        var data = new TheoryData<string, TaskVectorRescale>();
        foreach (var (method, rescale) in Cases) data.Add(method, rescale);
        return data;
    }

    static MergeSpec Spec(string method)
    {
        Assert.True(MergeMethods.TryParse(method, out var m));
        return Dare(m, null);
    }

    /// <summary>torch's merge of every case, from one python run (importing torch is most of a run's time; one run a
    /// case cost about 2.5 s each), made on first use so that a machine without torch fails or skips only these.</summary>
    static readonly Lazy<IReadOnlyDictionary<(string, TaskVectorRescale), float[]>> Torch = new(MergeEveryCaseInTorch);

    static IReadOnlyDictionary<(string, TaskVectorRescale), float[]> MergeEveryCaseInTorch()
    {
        using var dir = new TempDirectory();
        var folders = Cases.Select((c, k) =>
        {
            var folder = Path.Combine(dir.Path, $"case-{k}");
            Directory.CreateDirectory(folder);
            WriteInputs(folder, Spec(c.Method) with { Rescale = c.Rescale }, c.Method);
            return folder;
        }).ToArray();
        var (code, _, stderr) = PythonTorch.Run(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "python", "dare_rescale_reference.py")), folders);
        Assert.True(code == 0, stderr);
        return Cases.Select((c, k) => (c, File.ReadAllBytes(Path.Combine(folders[k], "merged.bin")))).ToDictionary(x => x.c, x =>
        {
            var expected = new float[x.Item2.Length / 4];
            Buffer.BlockCopy(x.Item2, 0, expected, 0, x.Item2.Length);
            return expected;
        });
    }

    /// <summary>The script's inputs for one case: every tensor written end to end (`sizes` splits them again), and for
    /// DARE the drop masks Ckpt draws.</summary>
    static void WriteInputs(string folder, MergeSpec spec, string method)
    {
        bool ties = spec.Method == MergeMethods.Ties;
        var names = Run(spec).Names.Order(StringComparer.Ordinal).ToArray();
        var b = Floats(Step(100));
        var models = spec.Models.Select(x => Floats(x.Path)).ToArray();
        File.WriteAllBytes(Path.Combine(folder, "base.bin"), Bytes(names.SelectMany(n => b[n])));
        for (int i = 0; i < models.Length; i++)
        {
            File.WriteAllBytes(Path.Combine(folder, $"model{i}.bin"), Bytes(names.SelectMany(n => models[i][n])));
            if (ties) continue;   // the script finds TIES's top-k itself
            double density = spec.Densities[i];
            File.WriteAllBytes(Path.Combine(folder, $"mask{i}.bin"), names.SelectMany(n =>
            {
                var key = DropMask.Key(spec.Seed, i, n);
                return Enumerable.Range(0, b[n].Length).Select(j => DropMask.Keeps(key, j, density) ? (byte)1 : (byte)0);
            }).ToArray());
        }
        File.WriteAllText(Path.Combine(folder, "params.json"), JsonSerializer.Serialize(new
        {
            models = models.Length, weights = spec.Weights, densities = spec.Densities, rescale = spec.Rescale!.Value.Name(),
            ties = method != "dare_linear", normalize = spec.EffectiveNormalize, lambda = spec.Lambda,
            sizes = names.Select(n => b[n].Length), sparsify = ties ? "magnitude" : "random",
        }));
    }

    [PythonTorchTheory]
    [MemberData(nameof(Rescales))]
    public void Sparsified_task_vectors_rescale_as_mergekit_computes_it_in_torch(string method, TaskVectorRescale rescale)
    {
        var spec = Spec(method) with { Rescale = rescale };
        var ours = Run(spec);
        var expected = Torch.Value[(method, rescale)];
        int at = 0;
        double worst = 0;
        foreach (var n in ours.Names.Order(StringComparer.Ordinal))
        {
            var a = ours.Floats(n);
            for (int j = 0; j < a.Length; j++, at++)
            {
                AssertClose(expected[at], a[j], $"{n}[{j}]", Relative, Absolute);
                worst = Math.Max(worst, Math.Abs(expected[at] - a[j]));
            }
        }
        Assert.Equal(expected.Length, at);
        output.WriteLine($"{at} elements, largest difference {worst:E2}");
    }

    static byte[] Bytes(IEnumerable<float> values)
    {
        var floats = values.ToArray();
        var bytes = new byte[floats.Length * 4];
        Buffer.BlockCopy(floats, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    [Fact]
    public void The_three_rescales_give_different_merges_and_inverse_density_stays_the_default_of_the_api()
    {
        const string name = "model.layers.0.mlp.up_proj.weight";
        var byDefault = Run(Dare(MergeMethods.DareLinear, null)).Floats(name);
        var inverse = Run(Dare(MergeMethods.DareLinear, TaskVectorRescale.InverseDensity)).Floats(name);
        var l1 = Run(Dare(MergeMethods.DareLinear, TaskVectorRescale.L1)).Floats(name);
        var none = Run(Dare(MergeMethods.DareLinear, TaskVectorRescale.None)).Floats(name);

        Assert.Equal(inverse, byDefault);
        // Far apart compared with the parity tolerance above, so that test tells the rescales apart.
        static double Largest(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(Largest(inverse, l1) > 50 * Absolute, $"l1 vs 1/density: {Largest(inverse, l1):E2}");
        Assert.True(Largest(l1, none) > 50 * Absolute, $"l1 vs none: {Largest(l1, none):E2}");
        Assert.True(Largest(inverse, none) > 50 * Absolute, $"1/density vs none: {Largest(inverse, none):E2}");
    }

    [Fact]
    public void A_mergekit_dare_config_rescales_to_the_l1_norm_unless_it_says_rescale_false()
    {
        string Config(string parameters) => $"""
            merge_method: dare_ties
            base_model: {Step(100)}
            models:
              - model: {Step(300)}
                parameters: {"{"}weight: 0.6{"}"}
              - model: {Step(400)}
                parameters: {"{"}weight: 0.8, density: 0.7{"}"}
            parameters: {"{"}density: 0.5{parameters}{"}"}
            random_seed: 7
            """;

        Assert.Equal(TaskVectorRescale.L1, MergeConfigParser.Parse(Config("")).Rescale);
        Assert.Equal(TaskVectorRescale.L1, MergeConfigParser.Parse(Config(", rescale: true")).Rescale);
        Assert.Equal(TaskVectorRescale.None, MergeConfigParser.Parse(Config(", rescale: false")).Rescale);
        var fromYaml = Run(MergeConfigParser.Parse(Config("")));
        var l1 = Run(Dare(MergeMethods.DareTies, TaskVectorRescale.L1));
        foreach (var n in l1.Names) Assert.Equal(l1.Floats(n), fromYaml.Floats(n));
    }

    [Fact]
    public void A_ties_config_keeps_mergekit_s_default_of_no_rescale_and_rescale_true_is_the_l1_norm()
    {
        string Config(string parameters) => $"merge_method: ties\nbase_model: {Step(100)}\nmodels:\n  - model: {Step(300)}\nparameters: {{density: 0.5{parameters}}}\n";
        Assert.Equal(TaskVectorRescale.None, MergeConfigParser.Parse(Config("")).Rescale);
        Assert.Equal(TaskVectorRescale.L1, MergeConfigParser.Parse(Config(", rescale: true")).Rescale);
    }

    [Fact]
    public void Inverse_density_on_ties_and_any_rescale_on_linear_are_rejected_naming_the_key()
    {
        var ties = Assert.Throws<CheckpointFormatException>(() => Dare(MergeMethods.Ties, TaskVectorRescale.InverseDensity).Check());
        Assert.Contains("parameters.rescale", ties.Message);
        var linear = Assert.Throws<CheckpointFormatException>(() =>
            new MergeSpec { Method = MergeMethods.Linear, Models = [new MergeInput("a")], Rescale = TaskVectorRescale.L1 }.Check());
        Assert.Contains("parameters.rescale", linear.Message);
    }

    [Fact]
    public void The_cli_rescale_option_reaches_the_spec_overrides_a_config_and_an_unknown_one_is_named()
    {
        static MergeRequest Bind(params string[] pairs)
        {
            var given = new Dictionary<string, IReadOnlyList<string>> { ["--out"] = ["merged"] };
            for (int i = 0; i < pairs.Length; i += 2)
                given[pairs[i]] = given.TryGetValue(pairs[i], out var v) ? [.. v, pairs[i + 1]] : [pairs[i + 1]];
            return MergeVerb.Definition.Bind<MergeRequest>(given);
        }
        var request = Bind("--method", "dare-linear", "--model", "a", "--model", "b", "--base", "c", "--rescale", "L1");
        Assert.Equal(TaskVectorRescale.L1, request.ToSpec().Rescale);
        using var dir = new TempDirectory();
        var config = Path.Combine(dir.Path, "merge.yaml");
        File.WriteAllText(config, $"merge_method: dare_ties\nbase_model: {Step(100)}\nmodels:\n  - model: {Step(300)}\nparameters: {{density: 0.5}}\n");
        Assert.Equal(TaskVectorRescale.L1, new MergeRequest { Config = config }.ToSpec().Rescale);
        // Dashes or underscores: the merge log writes inverse_density, as mergekit's parameter names do.
        Assert.Equal(TaskVectorRescale.InverseDensity, Bind("--config", config, "--rescale", "inverse-density").ToSpec().Rescale);
        Assert.Equal(TaskVectorRescale.InverseDensity, Bind("--config", config, "--rescale", "inverse_density").ToSpec().Rescale);
        var e = Assert.Throws<ArgumentException>(() => Bind("--config", config, "--rescale", "l2"));
        Assert.Equal("--rescale must be inverse-density, l1 or none, not 'l2'", e.Message);
    }
}
