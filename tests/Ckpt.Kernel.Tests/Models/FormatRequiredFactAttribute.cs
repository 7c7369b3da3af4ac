using Ckpt.Errors;

namespace Ckpt.Tests.Models;

/// <summary>
/// A fact that is skipped only while no reader for the fixture's own format exists on this branch: opening the
/// folder fails with UnknownFormat, or only finds the reference safetensors file lying beside the real checkpoint.
/// Any other failure to open still fails the test.
/// </summary>
sealed class FormatRequiredFactAttribute : FactAttribute
{
    public FormatRequiredFactAttribute(string fixture)
    {
        try
        {
            using var ckpt = Checkpoint.Open(TestPaths.Fixture(fixture));
            if (ckpt.Manifest.Format.StartsWith("safetensors", StringComparison.Ordinal))
                Skip = $"no reader for the format of {fixture} on this branch yet (the probe found only {ckpt.Manifest.Format})";
        }
        catch (CheckpointFormatException e) when (e.Reason == FormatErrorReason.UnknownFormat)
        {
            Skip = $"no reader for the format of {fixture} on this branch yet ({e.Message})";
        }
    }
}
