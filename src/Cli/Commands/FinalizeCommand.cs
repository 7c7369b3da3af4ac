using Ckpt.Cluster;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt finalize`: the options of <see cref="FinalizeVerb"/>, one call to <see cref="FinalizeVerb.Finalize"/>, a summary or JSON.</summary>
static class FinalizeCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(FinalizeVerb.Definition, FinalizeVerb.Bind, (bound, asJson, _) =>
    {
        var result = FinalizeVerb.Finalize(bound.Output, bound.Overwrite);
        if (asJson) stdout.WriteLine(VerbJson.Serialize(result.ToJson()));
        else
            stdout.WriteLine($"finalized the {result.Verb} output of {result.Parts} parts: {result.Files.Count} file(s), {ByteSize.Format(result.BytesWritten)}, " +
                $"and {string.Join(", ", result.IndexNames)} in {result.Output}");
    });
}
