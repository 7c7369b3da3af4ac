using Ckpt.Outputs;

namespace Ckpt.Cluster;

/// <summary>What `ckpt finalize` and `#!ckpt-finalize` were asked: the output whose parts to commit.</summary>
public sealed record FinalizeRequest(
    [Option("--out", "The --out the parts were written for: a folder, or an s3:// or az:// prefix.", Path = true, Positional = true, Required = true, Noun = "output")] string Output,
    [Option("--overwrite", OutputFolder.OverwriteHelp)] bool Overwrite = false);

/// <summary>
/// `ckpt finalize` and `#!ckpt-finalize`: commits an output that N processes wrote in parts (`reshard|convert --rank r
/// --ranks N --out X`), writing its index (DCP `.metadata`, `model.safetensors.index.json`) once every part exists, so
/// the result is the output one process would have written. A missing part is refused in one sentence naming it.
/// </summary>
public static class FinalizeVerb
{
    public static readonly Verb Definition = Verb.Of<FinalizeRequest>("finalize", "#!ckpt-finalize",
        "Commit an output written in parts by reshard or convert --rank r --ranks N: write its index once every part exists.",
        [VerbOption.CliJson("Print a JSON report."), VerbOption.MagicName()],
        magicUsage: "#!ckpt-finalize <out> [--overwrite]");

    /// <exception cref="ArgumentException">A missing or repeated value; the message names the option.</exception>
    public static FinalizeRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => Definition.Bind<FinalizeRequest>(given);

    /// <summary>Writes the index of the parts under <paramref name="output"/> and commits it (see <see cref="OutputParts"/>).</summary>
    public static FinalizedOutput Finalize(string output, bool overwrite = false) => OutputParts.Finalize(output, overwrite, PartIndex.Write);
}
