using Ckpt.Conversion;
using Ckpt.Outputs;

namespace Ckpt.Inspection;

/// <summary>`ckpt diff` and `#!ckpt-diff`: the options <see cref="Bound"/> declares, and the binding generated from them.</summary>
public static class DiffVerb
{
    /// <summary>The base checkpoint, then the one compared with it (in a notebook also C# variables), the tensors kept, and where the HTML goes.</summary>
    public sealed record Bound(
        [Option("--checkpoints", "The base checkpoint, then the one compared with it (files or folders; in a notebook also C# variables).", Path = true, Positional = true, Required = true, Exactly = 2, Noun = "two checkpoints")] IReadOnlyList<string> Checkpoints,
        [Option("--tensor", "Tensor name globs to compare.")] IReadOnlyList<string> Tensors,
        [Option("--html", "Write a standalone HTML report (plotly.js inlined, opens offline).", Path = true, Surface = OptionSurface.CliOnly)] string? Html,
        [Option("--overwrite", OutputFile.OverwriteHelp, Surface = OptionSurface.CliOnly)] bool Overwrite)
    {
        public string Base => Checkpoints[0];

        public string Compared => Checkpoints[1];

        public TensorFilter Filter => new(Tensors);
    }

    public static readonly Verb Definition = Verb.Of<Bound>("diff", "#!ckpt-diff",
        "Tensors added, removed, reshaped or re-typed, and the relative L2 and max abs change of the rest; reads one tensor pair at a time.",
        [VerbOption.CliJson("Print one JSON object.")], magicUsage: "#!ckpt-diff <a> <b> [--tensor glob]");

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static Bound Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => Definition.Bind<Bound>(given);
}
