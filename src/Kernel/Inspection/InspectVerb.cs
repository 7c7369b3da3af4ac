using Ckpt.Verbs;

namespace Ckpt.Inspection;

/// <summary>
/// `ckpt inspect` and `#!ckpt-load`: describe a checkpoint from its headers. The terminal lists it (`--limit`,
/// `--json`); the notebook binds it to a C# variable (`--name`) and shows its tables.
/// </summary>
public static class InspectVerb
{
    public static readonly Verb Definition = new("inspect", "#!ckpt-load",
        "Describe a checkpoint from its headers and metadata; reads no tensor bytes.",
        [
            new("--path", "A checkpoint file or folder (a folder of checkpoints is listed).", OptionKind.Path) { Positional = true, Required = true, Noun = "checkpoint" },
            new("--limit", "Tensor rows in the human listing.", OptionKind.Integer) { Default = "50", Surface = OptionSurface.CliOnly },
            new("--json", "Print one JSON object (the machine contract).", OptionKind.Flag) { Surface = OptionSurface.CliOnly },
            new("--name", "The C# variable to bind (default: from the file or folder name).") { Surface = OptionSurface.MagicOnly },
        ])
    {
        MagicUsage = "#!ckpt-load <folder or file> [--name var]",
    };

    /// <summary>The checkpoint's path and the listing's row limit.</summary>
    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static (string Path, int Limit) Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        return (v.Required("--path"), v.Integer("--limit")!.Value);
    }
}
