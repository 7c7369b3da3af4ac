using Ckpt.Formats.TorchSave;
using Ckpt.Storage;
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

    [Trait("Category", "slow")]
    [PythonTorchFact]
    public void Every_mutation_of_a_zero_2_folder_loads_or_is_refused_with_one_typed_error() =>
        Campaign("2", "global_step10/mp_rank_00_model_states.pt", "global_step10/zero_pp_rank_2_mp_rank_00_optim_states.pt", "latest");

    [Trait("Category", "slow")]
    [PythonTorchFact]
    public void Every_mutation_of_a_zero_3_folder_loads_or_is_refused_with_one_typed_error() =>
        Campaign("3", "global_step10/zero_pp_rank_1_mp_rank_00_model_states.pt", "global_step10/zero_pp_rank_3_mp_rank_00_optim_states.pt");

    /// <summary>
    /// Byte mutations of a whole rank file mostly meet the zip CRC check; these mutate only the `data.pkl` record and
    /// re-zip it with a fresh CRC, so they reach the unpickler and the ZeRO layout checks.
    /// </summary>
    [Trait("Category", "slow")]
    [PythonTorchFact]
    public void Every_pickle_mutation_of_zero_rank_files_loads_or_is_refused_with_one_typed_error()
    {
        var dir = DeepSpeedFixture.Build("3", 4);
        var files = MemoryStorage.FromDirectory(dir);
        var bytes = files.List("global_step10").ToDictionary(f => f, f => Read(files, f), StringComparer.Ordinal);
        bytes["latest"] = Read(files, "latest");
        string[] targets = ["global_step10/zero_pp_rank_0_mp_rank_00_model_states.pt", "global_step10/zero_pp_rank_2_mp_rank_00_optim_states.pt"];
        var mutator = new Mutator(20261127);
        var results = new List<FuzzCase>();
        for (int i = 0; i < Mutations; i++)
        {
            var target = targets[i % targets.Length];
            var zip = TorchZip.Open(bytes[target], target);
            var pickle = zip.Members.Single(m => m.Name.EndsWith("/data.pkl", StringComparison.Ordinal));
            var (mutated, description) = mutator.Mutate(zip.ReadAll(pickle));
            using var stream = new MemoryStream();
            var writer = new StoredZipWriter(stream);
            foreach (var m in zip.Members)
                writer.Add(m.Name, m == pickle ? mutated : zip.ReadAll(m));
            writer.Finish();
            results.Add(FuzzHarness.Run(new Dictionary<string, byte[]>(bytes, StringComparer.Ordinal) { [target] = stream.ToArray() }, "", target, description));
        }
        Report("ZeRO-3 data.pkl", results);
    }

    static byte[] Read(MemoryStorage storage, string file)
    {
        var b = new byte[storage.Length(file)];
        storage.Read(file, 0, b, IoCategory.Metadata);
        return b;
    }

    void Campaign(string stage, params string[] targets)
    {
        var dir = DeepSpeedFixture.Build(stage, 4);
        var pristine = FuzzHarness.Campaign(dir, "", targets, 0, seed: 0, includeOriginal: true);
        Assert.True(pristine.Single().Outcome == FuzzOutcome.Loaded, $"the unmutated checkpoint must load: {pristine.Single().Detail}");
        Report($"ZeRO-{stage}", FuzzHarness.Campaign(dir, "", targets, Mutations, seed: 20261127));
    }

    void Report(string what, IReadOnlyList<FuzzCase> results)
    {
        var summary = results.GroupBy(r => r.Outcome).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"{what}: " + string.Join(", ", summary.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var reason in results.Where(r => r.Outcome == FuzzOutcome.Refused).GroupBy(r => r.Detail).OrderByDescending(g => g.Count()))
            output.WriteLine($"  refused {reason.Key}: {reason.Count()}");
        var findings = results.Where(r => r.Outcome is not (FuzzOutcome.Loaded or FuzzOutcome.Refused)).ToList();
        Assert.True(findings.Count == 0,
            $"{findings.Count} findings, first: {findings.FirstOrDefault()?.File} [{findings.FirstOrDefault()?.Mutation}] {findings.FirstOrDefault()?.Outcome}: {findings.FirstOrDefault()?.Detail}");
        Assert.True(summary.GetValueOrDefault(FuzzOutcome.Refused) > Mutations / 20, "the mutations barely reached the parser");
    }
}
