namespace Ckpt.Forensics.Restor;

/// <summary>`ckpt restor` and `#!ckpt-restor`: the options <see cref="RestorRequest"/> declares, and the binding generated from them.</summary>
public static class RestorVerb
{
    public static readonly Verb Definition = Verb.Of<RestorRequest>("restor", "#!ckpt-restor",
        "RESTOR: greedy answers of a clean, a corrupted and unlearned models to facts; accuracy, forgetting and recovery.",
        [
            VerbOption.CliJson("Print the report as JSON (camelCase keys), facts included."),
            VerbOption.MagicName("Bind the report to this C# variable."),
        ], magicUsage: "#!ckpt-restor --clean <dir> --corrupted <dir> --unlearned <dir> [--unlearned <dir> ...] --facts facts.jsonl",
        magicSummary: "RESTOR (Rezaei et al. 2025): asks a clean, a corrupted and unlearned models the facts (greedy), charts accuracy on clean and corrupted answers, recovery and forgetting, per fact.");

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static RestorRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => Definition.Bind<RestorRequest>(given);
}
