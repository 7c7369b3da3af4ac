using Ckpt.Errors;

namespace Ckpt.Tests.Models;

/// <summary>
/// A fact that is skipped only while no reader for the fixture's format exists on this branch
/// (opening it fails with UnknownFormat); any other failure to open still fails the test.
/// </summary>
sealed class FormatRequiredFactAttribute : FactAttribute
{
    public FormatRequiredFactAttribute(string fixture)
    {
        try
        {
            using var _ = Checkpoint.Open(TestPaths.Fixture(fixture));
        }
        catch (CheckpointFormatException e) when (e.Reason == FormatErrorReason.UnknownFormat)
        {
            Skip = $"no reader for the format of {fixture} on this branch yet ({e.Message})";
        }
    }
}
