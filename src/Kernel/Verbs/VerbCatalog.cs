namespace Ckpt.Verbs;

/// <summary>
/// Every verb defined once in Kernel, whether it has a CLI command, a magic or both. The surface parity test
/// (tests/Ckpt.Extension.Tests/SurfaceParityTests.cs) walks this list and compares each verb's CLI command with its
/// magic, and fails on a command or magic that is not listed here.
/// </summary>
public static class VerbCatalog
{
    public static IReadOnlyList<Verb> All { get; } = 
    [
        Conversion.ConvertVerb.Definition,
        Resharding.ReshardVerb.Definition,
        Cluster.FinalizeVerb.Definition,
        Merging.MergeVerb.Definition,
        Merging.LcscVerb.Definition,
        Training.FineTuningVerb.Definition,
        Forensics.Restor.RestorVerb.Definition,
        Forensics.Restor.Toy.RestorToyVerb.Definition,
        Inspection.InspectVerb.Definition,
        Inspection.LayoutVerb.Definition,
        Inspection.DiffVerb.Definition,
        Inspection.StatsVerb.Definition,
        Monitoring.TimelineVerb.Definition,
        Models.ForwardVerb.Definition,
        Models.GenerateVerb.Definition,
        Benchmarks.BenchVerbs.Load,
        Benchmarks.BenchVerbs.Generate,
        Benchmarks.BenchVerbs.Forward,
        Resilience.RecoveryVerb.Definition,
        Forensics.SmoothInv.SmoothInvVerb.Definition,
    ];
}
