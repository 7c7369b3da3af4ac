using Ckpt.Outputs;

namespace Ckpt.Conversion;

/// <summary>`ckpt convert` and `#!ckpt-convert`: the options <see cref="Given"/> declares, and the one binding to <see cref="ConvertOptions"/>.</summary>
public static class ConvertVerb
{
    /// <summary>The options as given; <see cref="Bind"/> parses the shard size and dtype and builds the work share.</summary>
    public sealed class Given
    {
        [Option("--path", "A checkpoint file or folder, any readable format.", Path = true, Positional = true, Required = true, Noun = "checkpoint")]
        public string? Path { get; init; }

        [Option("--to", "Target format: safetensors, dcp (one rank, whole-tensor chunks) or torch (model.pt).")]
        public TargetFormat To { get; init; } = TargetFormat.Safetensors;

        [Option("--out", "Output folder.", Path = true, Required = true)]
        public string? Output { get; init; }

        [Option("--overwrite", OutputFolder.OverwriteHelp)]
        public bool Overwrite { get; init; }

        [Option("--max-shard-size", "Largest safetensors shard, e.g. 2GB, 500MB.")]
        public string MaxShardSize { get; init; } = "5GB";

        [Option("--only", "Tensor name globs to keep, e.g. 'model.**'.")]
        public IReadOnlyList<string> Only { get; init; } = [];

        [Option("--dtype", "Cast floating tensors: " + DTypeNames.Help + ".")]
        public string? DType { get; init; }

        [Option("--strip-prefix", "Remove this prefix from tensor names, e.g. 'model.'.")]
        public string? StripPrefix { get; init; }

        [Option("--rank", Cluster.WorkShare.RankHelp)]
        public int? Rank { get; init; }

        [Option("--ranks", Cluster.WorkShare.RanksHelp)]
        public int? Ranks { get; init; }

        [Option("--merge-adapter", "PEFT LoRA adapter folder to merge into the weights as they are written (W + scaling·B·A).", Path = true)]
        public string? MergeAdapter { get; init; }
    }

    public static readonly Verb Definition = Verb.Of<Given>("convert", "#!ckpt-convert", "Convert a checkpoint, one tensor at a time.",
        [VerbOption.CliJson("Print a JSON report."), VerbOption.MagicName()],
        magicUsage: "#!ckpt-convert <path> --to safetensors|dcp|torch --out <dir> [--only glob] [--dtype F16]");

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static (string Path, ConvertOptions Options) Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var g = Definition.Bind<Given>(given);
        var options = new ConvertOptions(g.To, g.Output!, ByteSize.Parse(g.MaxShardSize),
            g.Only.ToArray(), DTypeNames.ParseOptional(g.DType), g.StripPrefix, g.MergeAdapter, g.Overwrite, Cluster.WorkShare.From(g.Rank, g.Ranks));
        return (g.Path!, options);
    }
}
