using Ckpt.Merging;
using static Ckpt.Tests.Merging.MergeTestData;

namespace Ckpt.Tests.Merging;

/// <summary>
/// Every method in <see cref="MergeMethods"/> is reachable from `ckpt merge --method` (both spellings) and from a YAML
/// `merge_method`, and runs; the magic's side is <c>RewritingMagicTests.Merge_magic_runs_every_registered_method</c>.
/// </summary>
public class MergeMethodRegistryTests
{
    public static TheoryData<string> Methods() => new(MergeMethods.All.Select(m => m.Name));

    static MergeMethod Named(string name) => MergeMethods.All.Single(m => m.Name == name);

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_registered_method_runs_from_ckpt_merge_method_in_either_spelling(string name)
    {
        var method = Named(name);
        foreach (var spelling in new[] { method.CliName, method.Name })
        {
            using var dir = new TempDirectory();
            string[] models = method == MergeMethods.Slerp ? ["--model", Step(300), "--model", Step(400)]
                : ["--base", Step(100), "--model", Step(300), "--model", Step(400)];
            var (code, output, err) = global::Ckpt.Tests.Cli.CliRunner.Run(
                ["merge", "--method", spelling, .. models, "--density", "0.5", "--out", dir.Path, "--json"]);
            Assert.True(code == 0, err);
            Assert.Contains($"\"method\": \"{name}\"", output);
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_registered_method_is_read_from_a_mergekit_config(string name)
    {
        var method = Named(name);
        var baseModel = method.NeedsBase ? $"base_model: {Step(100)}\n" : "";
        var spec = MergeConfigParser.Parse($"merge_method: {name}\n{baseModel}models:\n  - model: {Step(300)}\n  - model: {Step(400)}\n");
        Assert.Same(method, spec.Method);
    }

    [Fact]
    public void Ckpt_merge_help_lists_exactly_the_registered_methods()
    {
        var (code, output, _) = global::Ckpt.Tests.Cli.CliRunner.Run("merge", "--help");
        Assert.Equal(0, code);
        Assert.Contains(MergeMethods.CliNames, output);
    }

    [Fact]
    public void Names_are_unique_and_an_unknown_method_is_named_with_the_list()
    {
        Assert.Equal(MergeMethods.All.Count, MergeMethods.All.Select(m => m.Name).Distinct().Count());
        var e = Assert.Throws<Ckpt.Errors.CheckpointFormatException>(() => MergeConfigParser.Parse("merge_method: frankenmerge\nmodels:\n  - model: /a\n"));
        Assert.Contains(MergeMethods.ConfigNames, e.Message);
    }
}
