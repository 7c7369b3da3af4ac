using Ckpt.Merging;
using static Ckpt.Tests.Merging.MergeTestData;

namespace Ckpt.Tests.Merging;

/// <summary>`ckpt merge` from options and from a mergekit YAML file, run in-process.</summary>
public class MergeCommandTests
{
    static (int Code, string Out, string Err) Ckpt(params string[] args) => global::Ckpt.Tests.Cli.CliRunner.Run(args);

    [Fact]
    public void Ckpt_merge_with_weighted_models_writes_the_same_tensors_as_the_library()
    {
        using var dir = new TempDirectory();
        var expected = Run(new MergeSpec { Method = MergeMethods.Linear, Models = [new MergeInput(Step(375), 1), new MergeInput(Step(400), 3)] });

        var (code, _, err) = Ckpt("merge", "--method", "linear", "--model", Step(375) + ":1", "--model", Step(400) + ":3", "--out", dir.Path);

        Assert.Equal(0, code);
        Assert.Equal("", err);
        using var merged = Checkpoint.Open(dir.Path);
        foreach (var n in expected.Names) { using var t = merged.Read(n); Assert.Equal(expected.Floats(n), t.ToFloats()); }
    }

    [Fact]
    public void Ckpt_merge_with_a_yaml_config_resolves_models_beside_it()
    {
        using var dir = new TempDirectory();
        var fixtures = TestPaths.Fixture("trajectory-llama-micro");
        var config = Path.Combine(dir.Path, "merge.yaml");
        File.WriteAllText(config, $"""
            merge_method: dare_ties
            base_model: {fixtures}/step-0100.safetensors
            models:
              - model: {fixtures}/step-0300.safetensors
                parameters: {"{"}weight: 0.5, density: 0.6{"}"}
              - model: {fixtures}/step-0400.safetensors
                parameters: {"{"}weight: 0.5, density: 0.6{"}"}
            random_seed: 5
            dtype: bfloat16
            """);

        var (code, output, _) = Ckpt("merge", "--config", config, "--out", Path.Combine(dir.Path, "out"), "--json");

        Assert.Equal(0, code);
        Assert.Contains("\"method\": \"dare_ties\"", output);
        using var merged = Checkpoint.Open(Path.Combine(dir.Path, "out"));
        Assert.All(merged.Manifest.Tensors, t => Assert.Equal(global::Ckpt.Tensors.DType.BF16, t.DType));
    }

    [Fact]
    public void Ckpt_merge_with_a_bad_config_key_prints_one_line_naming_it_and_fails()
    {
        using var dir = new TempDirectory();
        var config = Path.Combine(dir.Path, "merge.yaml");
        File.WriteAllText(config, "merge_method: ties\nbase_model: /x\nmodels:\n  - model: /y\n    parameters:\n      densty: 0.5\n");

        var (code, _, err) = Ckpt("merge", "--config", config, "--out", Path.Combine(dir.Path, "out"));

        Assert.Equal(2, code);
        Assert.Contains("models[0].parameters.densty", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "out")));
    }
}
