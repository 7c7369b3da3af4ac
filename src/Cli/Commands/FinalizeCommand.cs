using System.CommandLine;
using System.Text.Json.Nodes;
using Ckpt.Cluster;
using Ckpt.Conversion;
using Ckpt.Manifest;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt finalize`: the options of <see cref="FinalizeVerb"/>, one call to <see cref="FinalizeVerb.Finalize"/>, a summary or JSON.</summary>
static class FinalizeCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(FinalizeVerb.Definition, (given, _) =>
    {
        var (output, overwrite) = FinalizeVerb.Bind(given);
        var result = FinalizeVerb.Finalize(output, overwrite);
        if (VerbCommand.Flag(given, "--json"))
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
        return Task.FromResult(0);
    });

    static string Name(string path) => path[(path.LastIndexOfAny(['/', '\\']) + 1)..];
}
