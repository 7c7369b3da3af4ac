using Ckpt.Tests.Formats;
using Xunit.Abstractions;

namespace Ckpt.Tests.Fuzzing;

/// <summary>
/// The fixed-seed mutation campaign of <see cref="MutationFuzzTests"/> over DeepSpeed ZeRO folders built from the
/// documented layout (<see cref="DeepSpeedFixture"/>): every mutation of a model-states file, a rank's optimizer-state
/// file or the `latest` tracker loads or is refused with one CheckpointFormatException, within 2 s and bounded memory.
/// </summary>
public class DeepSpeedMutationFuzzTests(ITestOutputHelper output)
{
    const int Mutations = 1000;

    [PythonTorchFact]
    public void Every_mutation_of_a_zero_2_folder_loads_or_is_refused_with_one_typed_error() =>
        Campaign("2", "global_step10/mp_rank_00_model_states.pt", "global_step10/zero_pp_rank_2_mp_rank_00_optim_states.pt", "latest");

    [PythonTorchFact]
    public void Every_mutation_of_a_zero_3_folder_loads_or_is_refused_with_one_typed_error() =>
        Campaign("3", "global_step10/zero_pp_rank_1_mp_rank_00_model_states.pt", "global_step10/zero_pp_rank_3_mp_rank_00_optim_states.pt");

    void Campaign(string stage, params string[] targets)
    {
        var dir = DeepSpeedFixture.Build(stage, 4);
        var pristine = FuzzHarness.Campaign(dir, "", targets, 0, seed: 0, includeOriginal: true);
        Assert.True(pristine.Single().Outcome == FuzzOutcome.Loaded, $"the unmutated checkpoint must load: {pristine.Single().Detail}");
        var results = FuzzHarness.Campaign(dir, "", targets, Mutations, seed: 20261127);
        var summary = results.GroupBy(r => r.Outcome).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"ZeRO-{stage}: " + string.Join(", ", summary.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var reason in results.Where(r => r.Outcome == FuzzOutcome.Refused).GroupBy(r => r.Detail).OrderByDescending(g => g.Count()))
            output.WriteLine($"  refused {reason.Key}: {reason.Count()}");
        var findings = results.Where(r => r.Outcome is not (FuzzOutcome.Loaded or FuzzOutcome.Refused)).ToList();
        Assert.True(findings.Count == 0,
            $"{findings.Count} findings, first: {findings.FirstOrDefault()?.File} [{findings.FirstOrDefault()?.Mutation}] {findings.FirstOrDefault()?.Outcome}: {findings.FirstOrDefault()?.Detail}");
        Assert.True(summary.GetValueOrDefault(FuzzOutcome.Refused) > Mutations / 20, "the mutations barely reached the parser");
    }
}
