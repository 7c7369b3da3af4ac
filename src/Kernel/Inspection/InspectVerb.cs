namespace Ckpt.Inspection;

/// <summary>What `ckpt inspect` and `#!ckpt-load` were asked: the checkpoint and the listing's row limit.</summary>
public sealed record InspectRequest(
    [Option("--path", "A checkpoint file or folder (a folder of checkpoints is listed).", Path = true, Positional = true, Required = true, Noun = "checkpoint")] string Path,
    [Option("--limit", "Tensor rows in the human listing.", Surface = OptionSurface.CliOnly)] int Limit = 50);

/// <summary>
/// `ckpt inspect` and `#!ckpt-load`: describe a checkpoint from its headers. The terminal lists it (`--limit`,
/// `--json`); the notebook binds it to a C# variable (`--name`) and shows its tables.
/// </summary>
public static class InspectVerb
{
    public static readonly Verb Definition = Verb.Of<InspectRequest>("inspect", "#!ckpt-load",
        "Describe a checkpoint from its headers and metadata; reads no tensor bytes.",
        [
            VerbOption.CliJson("Print one JSON object (the machine contract)."),
            VerbOption.MagicName("The C# variable to bind (default: from the file or folder name)."),
        ], magicUsage: "#!ckpt-load <folder or file> [--name var]",
        magicSummary: "Opens a checkpoint (headers only), binds it to a C# variable and shows what it holds.");

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static InspectRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => Definition.Bind<InspectRequest>(given);
}
