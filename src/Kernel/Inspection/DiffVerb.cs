using Ckpt.Conversion;
using Ckpt.Outputs;
using Ckpt.Verbs;

namespace Ckpt.Inspection;

/// <summary>`ckpt diff` and `#!ckpt-diff`: every option once, and the one binding.</summary>
public static class DiffVerb
{
    /// <summary>The base checkpoint, the one compared with it (in a notebook also C# variables), the tensors kept, and where the HTML goes.</summary>
    public sealed record Bound(string Base, string Compared, IReadOnlyList<string> Tensors, string? Html, bool Overwrite)
    {
        public TensorFilter Filter => new(Tensors);
    }

    public static readonly Verb Definition = new("diff", "#!ckpt-diff",
        "Tensors added, removed, reshaped or re-typed, and the relative L2 and max abs change of the rest; reads one tensor pair at a time.",
        [
            new("--checkpoints", "The base checkpoint, then the one compared with it (files or folders; in a notebook also C# variables).", OptionKind.Path)
                { Positional = true, Many = true, Required = true, Exactly = 2, Noun = "two checkpoints" },
            new("--tensor", "Tensor name globs to compare.") { Many = true },
            new("--html", "Write a standalone HTML report (plotly.js inlined, opens offline).", OptionKind.Path) { Surface = OptionSurface.CliOnly },
            new("--overwrite", OutputFile.OverwriteHelp, OptionKind.Flag) { Surface = OptionSurface.CliOnly },
            new("--json", "Print one JSON object.", OptionKind.Flag) { Surface = OptionSurface.CliOnly },
        ])
    {
        MagicUsage = "#!ckpt-diff <a> <b> [--tensor glob]",
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static Bound Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        var checkpoints = v.All("--checkpoints");
        return new Bound(checkpoints[0], checkpoints[1], v.All("--tensor").Where(g => !string.IsNullOrWhiteSpace(g)).ToArray(), v.Text("--html"), v.Flag("--overwrite"));
    }
}
