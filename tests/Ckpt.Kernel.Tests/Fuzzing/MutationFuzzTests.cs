using Ckpt.Tests;
using Xunit.Abstractions;

namespace Ckpt.Tests.Fuzzing;

/// <summary>
/// A fixed-seed mutation campaign over each reader's real fixture: every mutation must load or be refused
/// with a CheckpointFormatException, within 2 s and a bounded allocation. The long campaign runs in
/// bench/fuzz (100,000 mutations per reader).
/// </summary>
public class MutationFuzzTests(ITestOutputHelper output)
{
    const int Mutations = 1500;

    public static TheoryData<string, string, string> Readers => new()
    {
        { "hf-gpt2-tiny", "model.safetensors", "model.safetensors" },
        { "hf-llama-tiny-sharded", "", "model.safetensors.index.json,model-00001-of-00006.safetensors,model-00006-of-00006.safetensors" },
        { "torch-save", "variety.pt", "variety.pt" },
        { "torch-save", "legacy.pt", "legacy.pt" },
        { "torch-save", "nested.pt", "nested.pt" },
        { "hf-llama-tiny-bin", "", "pytorch_model.bin.index.json,pytorch_model-00001-of-00003.bin" },
        { "dcp-dtensor1d-4rank", "", ".metadata,__0_0.distcp" },
        { "dcp-fsdp2-4rank", "", ".metadata,__1_0.distcp" },
    };

    [Trait("Category", "slow")]
    [Theory]
    [MemberData(nameof(Readers))]
    public void Every_mutation_loads_or_is_refused_with_one_typed_error(string fixture, string entry, string targets)
    {
        var pristine = FuzzHarness.Campaign(TestPaths.Fixture(fixture), entry, targets.Split(','), 0, seed: 0, includeOriginal: true);
        Assert.True(pristine.Single().Outcome == FuzzOutcome.Loaded, $"the unmutated fixture must load: {pristine.Single().Detail}");
        var results = FuzzHarness.Campaign(TestPaths.Fixture(fixture), entry, targets.Split(','), Mutations, seed: 20261126);
        var summary = results.GroupBy(r => r.Outcome).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"{fixture}/{entry}: " + string.Join(", ", summary.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var reason in results.Where(r => r.Outcome == FuzzOutcome.Refused).GroupBy(r => r.Detail).OrderByDescending(g => g.Count()))
            output.WriteLine($"  refused {reason.Key}: {reason.Count()}");
        var findings = results.Where(r => r.Outcome is not (FuzzOutcome.Loaded or FuzzOutcome.Refused)).ToList();
        Assert.True(findings.Count == 0,
            $"{findings.Count} findings, first: {findings.FirstOrDefault()?.File} [{findings.FirstOrDefault()?.Mutation}] {findings.FirstOrDefault()?.Outcome}: {findings.FirstOrDefault()?.Detail}");
        Assert.True(summary.GetValueOrDefault(FuzzOutcome.Refused) > Mutations / 20, "the mutations barely reached the parser");
    }
}
