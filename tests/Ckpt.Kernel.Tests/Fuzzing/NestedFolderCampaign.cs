namespace Ckpt.Tests.Fuzzing;

/// <summary>
/// A fixed-seed mutation campaign over a checkpoint whose files lie in nested folders (a Megatron iteration folder,
/// ByteCheckpoint's model/optimizer/extra_state parts), mutating one named file at a time.
/// </summary>
public static class NestedFolderCampaign
{
    public static IReadOnlyList<FuzzCase> Run(string directory, IReadOnlyList<string> targets, int count, int seed)
    {
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith("reference", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(directory, f).Replace('\\', '/'), File.ReadAllBytes, StringComparer.Ordinal);
        FuzzHarness.Run(files, "", "", "none"); // warm-up: the first load pays for JIT compilation, not parsing
        var results = new List<FuzzCase> { FuzzHarness.Run(files, "", "", "none") };
        var mutator = new Mutator(seed);
        for (int i = 0; i < count; i++)
        {
            var target = targets[i % targets.Count];
            var (bytes, description) = mutator.Mutate(files[target]);
            results.Add(FuzzHarness.Run(new Dictionary<string, byte[]>(files, StringComparer.Ordinal) { [target] = bytes }, "", target, description));
        }
        return results;
    }

    /// <summary>The first result that is neither a load nor a typed refusal, described for an assertion message.</summary>
    public static string? FirstFinding(IReadOnlyList<FuzzCase> results) =>
        results.Skip(1).FirstOrDefault(r => r.Outcome is not (FuzzOutcome.Loaded or FuzzOutcome.Refused)) is { } f
            ? $"{f.File} [{f.Mutation}] {f.Outcome}: {f.Detail}" : null;
}
