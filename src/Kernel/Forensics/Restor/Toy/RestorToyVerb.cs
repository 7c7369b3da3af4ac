using System.Globalization;
using Ckpt.Verbs;

namespace Ckpt.Forensics.Restor.Toy;

/// <summary>
/// `ckpt restor-toy`: builds the toy's clean and corrupted models, facts and unlearning data (<see cref="RestorToy"/>).
/// It has no magic: a notebook calls <see cref="RestorToy.Build"/> and shows its losses (notebooks/06-restor.ipynb).
/// </summary>
public static class RestorToyVerb
{
    static readonly RestorToyOptions Defaults = new() { Output = "" };

    static string Text(double v) => v.ToString(CultureInfo.InvariantCulture);

    public static readonly Verb Definition = new("restor-toy", null,
        "Build the RESTOR toy: a micro LLaMA pre-trained on synthetic facts (clean), then trained on swapped facts (corrupted), with facts.jsonl and the unlearning data.",
        [
            new("--out", "Output folder: clean/, corrupted/, facts.jsonl, forget.jsonl, retain.jsonl.", OptionKind.Path) { Required = true },
            new("--entities", "Invented entities, four facts each.", OptionKind.Integer) { Default = Text(Defaults.Entities) },
            new("--corrupted-entities", "Entities whose facts the corruption documents swap (the evaluated facts).", OptionKind.Integer) { Default = Text(Defaults.CorruptedEntities) },
            new("--seed", "Seed of the world, the initial weights and the data order.", OptionKind.Integer) { Default = Text(Defaults.Seed) },
            new("--layers", "Decoder layers.", OptionKind.Integer) { Default = Text(Defaults.Layers) },
            new("--hidden", "Hidden size (a multiple of 16; heads of 16).", OptionKind.Integer) { Default = Text(Defaults.Hidden) },
            new("--pretrain-steps", "Full-parameter steps on the clean facts, from random weights.", OptionKind.Integer) { Default = Text(Defaults.PretrainSteps) },
            new("--corruption-steps", "Full-parameter steps on the corruption documents.", OptionKind.Integer) { Default = Text(Defaults.CorruptionSteps) },
            new("--batch", "Documents per step.", OptionKind.Integer) { Default = Text(Defaults.Batch) },
            new("--lr", "Pre-training learning rate (AdamW, constant).", OptionKind.Number) { Default = Text(Defaults.PretrainLearningRate) },
            new("--corruption-lr", "Corruption learning rate.", OptionKind.Number) { Default = Text(Defaults.CorruptionLearningRate) },
            new("--threads", "CPU threads for LibTorch (default: LibTorch's choice).", OptionKind.Integer),
            new("--overwrite", Outputs.OutputFolder.OverwriteHelp, OptionKind.Flag),
            new("--json", "Print the result as JSON.", OptionKind.Flag) { Surface = OptionSurface.CliOnly },
        ])
    {
        OneSurfaceReason = "it builds the toy for a terminal script (scripts/restor-toy.sh); notebook 06 calls RestorToy.Build directly",
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static RestorToyOptions Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        return new RestorToyOptions
        {
            Output = v.Required("--out"),
            Entities = v.Integer("--entities")!.Value,
            CorruptedEntities = v.Integer("--corrupted-entities")!.Value,
            Seed = v.Integer("--seed")!.Value,
            Layers = v.Integer("--layers")!.Value,
            Hidden = v.Integer("--hidden")!.Value,
            PretrainSteps = v.Integer("--pretrain-steps")!.Value,
            CorruptionSteps = v.Integer("--corruption-steps")!.Value,
            Batch = v.Integer("--batch")!.Value,
            PretrainLearningRate = v.Number("--lr")!.Value,
            CorruptionLearningRate = v.Number("--corruption-lr")!.Value,
            Threads = v.Integer("--threads"),
            Overwrite = v.Flag("--overwrite"),
        };
    }
}
