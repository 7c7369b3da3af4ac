using Ckpt.Conversion;
using Ckpt.Outputs;
using Ckpt.Verbs;

namespace Ckpt.Inspection;

/// <summary>
/// `ckpt layout` and `#!ckpt-layout`: every option once, and the one binding. The terminal may write the chart as a
/// standalone HTML file (`--html`); a notebook shows it.
/// </summary>
public static class LayoutVerb
{
    /// <summary>What to chart: a checkpoint (in a notebook also a C# variable), the tensors kept, and where the HTML goes.</summary>
    public sealed record Bound(string Checkpoint, IReadOnlyList<string> Tensors, string? Html, bool Overwrite)
    {
        public TensorFilter Filter => new(Tensors);
    }

    public static readonly Verb Definition = new("layout", "#!ckpt-layout",
        "How a checkpoint's bytes spread over ranks and files, from its metadata; reads no tensor bytes.",
        [
            new("--checkpoint", "A checkpoint file or folder; in a notebook also a C# variable holding a Checkpoint.", OptionKind.Path)
                { Positional = true, Required = true, Noun = "checkpoint" },
            new("--tensor", "Tensor name globs to chart, e.g. 'model.layers.0.**'.") { Many = true },
            new("--html", "Write a standalone HTML report (plotly.js inlined, opens offline).", OptionKind.Path) { Surface = OptionSurface.CliOnly },
            new("--overwrite", OutputFile.OverwriteHelp, OptionKind.Flag) { Surface = OptionSurface.CliOnly },
            new("--json", "Print the layout as JSON (the chart input contract).", OptionKind.Flag) { Surface = OptionSurface.CliOnly },
        ])
    {
        MagicUsage = "#!ckpt-layout <var|path> [--tensor glob]",
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static Bound Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        return new Bound(v.Required("--checkpoint"), v.All("--tensor").Where(g => !string.IsNullOrWhiteSpace(g)).ToArray(), v.Text("--html"), v.Flag("--overwrite"));
    }
}
