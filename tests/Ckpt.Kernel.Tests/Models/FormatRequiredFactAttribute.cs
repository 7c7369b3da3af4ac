using Ckpt.Errors;

namespace Ckpt.Tests.Models;

/// <summary>
/// A fact that is skipped only while no reader for the fixture's own format exists on this branch: opening the
/// folder fails with UnknownFormat, or only finds the reference safetensors file lying beside the real checkpoint.
/// Any other failure to open still fails the test, and under CI so does a missing reader.
/// </summary>
sealed class FormatRequiredFactAttribute(string fixture) : RequiredFactAttribute(Probe(fixture))
{
    static string? Probe(string fixture)
    {
        try
        {
            using var ckpt = Checkpoint.Open(TestPaths.Fixture(fixture));
            return ckpt.Manifest.Format.StartsWith("safetensors", StringComparison.Ordinal)
                ? $"no reader for the format of {fixture} on this branch yet (the probe found only {ckpt.Manifest.Format})"
                : null;
        }
        catch (CheckpointFormatException e) when (e.Reason == FormatErrorReason.UnknownFormat)
        {
            return $"no reader for the format of {fixture} on this branch yet ({e.Message})";
        }
        // Any other exception propagates: the test fails at discovery rather than being skipped.
    }
}
