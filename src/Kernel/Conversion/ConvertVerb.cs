using Ckpt.Outputs;

namespace Ckpt.Conversion;

/// <summary>`ckpt convert` and `#!ckpt-convert`: every option once, and the one binding to <see cref="ConvertOptions"/>.</summary>
public static class ConvertVerb
{
    public static readonly Verb Definition = new("convert", "#!ckpt-convert", "Convert a checkpoint, one tensor at a time.",
        [
            new("--path", "A checkpoint file or folder, any readable format.", OptionKind.Path) { Positional = true, Required = true, Noun = "checkpoint" },
            new("--to", "Target format: safetensors, dcp (one rank, whole-tensor chunks) or torch (model.pt).") { Default = "safetensors" },
            new("--out", "Output folder.", OptionKind.Path) { Required = true },
            new("--overwrite", OutputFolder.OverwriteHelp, OptionKind.Flag),
            new("--max-shard-size", "Largest safetensors shard, e.g. 2GB, 500MB.") { Default = "5GB" },
            new("--only", "Tensor name globs to keep, e.g. 'model.**'.") { Many = true },
            new("--dtype", "Cast floating tensors: " + DTypeNames.Help + "."),
            new("--strip-prefix", "Remove this prefix from tensor names, e.g. 'model.'."),
            new("--rank", Cluster.WorkShare.RankHelp, OptionKind.Integer),
            new("--ranks", Cluster.WorkShare.RanksHelp, OptionKind.Integer),
            new("--merge-adapter", "PEFT LoRA adapter folder to merge into the weights as they are written (W + scaling·B·A).", OptionKind.Path),
            VerbOption.CliJson("Print a JSON report."),
            VerbOption.MagicName(),
        ])
    {
        MagicUsage = "#!ckpt-convert <path> --to safetensors|dcp|torch --out <dir> [--only glob] [--dtype F16]",
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static (string Path, ConvertOptions Options) Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        var options = new ConvertOptions(OptionValues.TargetFormat(v.Required("--to")), v.Required("--out"), ByteSize.Parse(v.Required("--max-shard-size")),
            v.All("--only").ToArray(), DTypeNames.ParseOptional(v.Text("--dtype")), v.Text("--strip-prefix"), v.Text("--merge-adapter"), v.Flag("--overwrite"),
            Cluster.WorkShare.From(v.Integer("--rank"), v.Integer("--ranks")));
        return (v.Required("--path"), options);
    }
}
