using System.Globalization;
using Ckpt.Verbs;

namespace Ckpt.Forensics.Restor;

/// <summary>`ckpt restor` and `#!ckpt-restor`: every option once, and the one binding to <see cref="RestorRequest"/>.</summary>
public static class RestorVerb
{
    static readonly RestorRequest Defaults = new() { Clean = "", Corrupted = "", Unlearned = [], Facts = "" };

    public static readonly Verb Definition = new("restor", "#!ckpt-restor",
        "RESTOR: greedy answers of a clean, a corrupted and unlearned models to facts; accuracy, forgetting and recovery.",
        [
            new("--clean", "The clean model: a checkpoint folder or file (config.json and tokenizer beside it).", OptionKind.Path) { Required = true },
            new("--corrupted", "The clean model continually trained on misinformation.", OptionKind.Path) { Required = true },
            new("--unlearned", "An unlearned model, or a LoRA adapter folder applied to the corrupted model; give it once per model.", OptionKind.Path) { Required = true, Many = true },
            new("--facts", "JSONL, one fact a line: {\"id\", \"prompt\", \"answers\", \"corruptedAnswers\"} (docs/restor.md).", OptionKind.Path) { Required = true },
            new("--max-new-tokens", "Greedy tokens generated per answer (cut at the first newline).", OptionKind.Integer) { Default = Defaults.MaxNewTokens.ToString(CultureInfo.InvariantCulture) },
            new("--device", "cpu, cuda or cuda:N.") { Default = Defaults.Device },
            new("--dtype", "Compute dtype: f32, bf16, f16 (default: the checkpoint's)."),
            new("--threads", "CPU threads for LibTorch (default: LibTorch's choice).", OptionKind.Integer),
            new("--json", "Print the report as JSON (camelCase keys), facts included.", OptionKind.Flag) { Surface = OptionSurface.CliOnly },
            new("--name", "Bind the report to this C# variable.") { Surface = OptionSurface.MagicOnly },
        ])
    {
        MagicUsage = "#!ckpt-restor --clean <dir> --corrupted <dir> --unlearned <dir> [--unlearned <dir> ...] --facts facts.jsonl",
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static RestorRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        return new RestorRequest
        {
            Clean = v.Required("--clean"),
            Corrupted = v.Required("--corrupted"),
            Unlearned = v.All("--unlearned").Where(u => !string.IsNullOrWhiteSpace(u)).ToList(),
            Facts = v.Required("--facts"),
            MaxNewTokens = v.Integer("--max-new-tokens")!.Value,
            Device = v.Required("--device"),
            DType = v.Text("--dtype"),
            Threads = v.Integer("--threads"),
        };
    }
}
