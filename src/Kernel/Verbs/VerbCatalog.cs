namespace Ckpt.Verbs;

/// <summary>
/// Every verb defined once in Kernel. The surface parity test (tests/Ckpt.Extension.Tests/SurfaceParityTests.cs)
/// walks this list and compares each verb's CLI command with its magic.
/// </summary>
public static class VerbCatalog
{
    public static IReadOnlyList<Verb> All { get; } = 
    [
        Conversion.ConvertVerb.Definition,
        Resharding.ReshardVerb.Definition,
        Merging.MergeVerb.Definition,
        Merging.LcscVerb.Definition,
        Training.FineTuningVerb.Definition,
        Forensics.SmoothInv.SmoothInvVerb.Definition,
    ];
}
