using Ckpt.Conversion;
using Ckpt.Outputs;

namespace Ckpt.Inspection;

/// <summary>
/// `ckpt layout` and `#!ckpt-layout`: the options <see cref="Bound"/> declares, and the binding generated from them. The terminal may write the chart as a
/// standalone HTML file (`--html`); a notebook shows it.
/// </summary>
public static class LayoutVerb
{
    /// <summary>What to chart: a checkpoint (in a notebook also a C# variable), the tensors kept, and where the HTML goes.</summary>
    public sealed record Bound(
        [Option("--checkpoint", "A checkpoint file or folder; in a notebook also a C# variable holding a Checkpoint.", Path = true, Positional = true, Required = true, Noun = "checkpoint")] string Checkpoint,
        [Option("--tensor", "Tensor name globs to chart, e.g. 'model.layers.0.**'.")] IReadOnlyList<string> Tensors,
        [Option("--html", "Write a standalone HTML report (plotly.js inlined, opens offline).", Path = true, Surface = OptionSurface.CliOnly)] string? Html,
        [Option("--overwrite", OutputFile.OverwriteHelp, Surface = OptionSurface.CliOnly)] bool Overwrite)
    {
        public TensorFilter Filter => new(Tensors);
    }

    public static readonly Verb Definition = Verb.Of<Bound>("layout", "#!ckpt-layout",
        "How a checkpoint's bytes spread over ranks and files, from its metadata; reads no tensor bytes.",
        [VerbOption.CliJson("Print the layout as JSON (the chart input contract).")],
        magicUsage: "#!ckpt-layout <var|path> [--tensor glob]",
        magicSummary: "Charts how a checkpoint's tensors are split into fragments over ranks and files, and its parameters by module.");

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static Bound Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => Definition.Bind<Bound>(given);
}
