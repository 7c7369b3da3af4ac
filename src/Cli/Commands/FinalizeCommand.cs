using Ckpt.Cluster;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt finalize`: the options of <see cref="FinalizeVerb"/>, one call to <see cref="FinalizeVerb.Finalize"/>, a summary or JSON.</summary>
static class FinalizeCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(FinalizeVerb.Definition, FinalizeVerb.Bind, (bound, asJson, _) =>
    {
        var result = FinalizeVerb.Finalize(bound.Output, bound.Overwrite);
        if (asJson)
            stdout.WriteLine(ManifestJson.Serialize(new JsonObject
            {
                ["out"] = result.Output,
                ["verb"] = result.Verb,
                ["parts"] = result.Parts,
                ["files"] = new JsonArray(result.Files.Select(f => (JsonNode)Name(f)).ToArray()),
                ["index"] = new JsonArray(result.IndexFiles.Select(f => (JsonNode)Name(f)).ToArray()),
                ["bytesWritten"] = result.BytesWritten,
            }));
        else
            stdout.WriteLine($"finalized the {result.Verb} output of {result.Parts} parts: {result.Files.Count} file(s), {ByteSize.Format(result.BytesWritten)}, " +
                $"and {string.Join(", ", result.IndexFiles.Select(Name))} in {result.Output}");
    });

    static string Name(string path) => path[(path.LastIndexOfAny(['/', '\\']) + 1)..];
}
