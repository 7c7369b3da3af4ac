using System.Globalization;
using Ckpt.Conversion;
using Ckpt.Outputs;
using Ckpt.Tensors;
using Ckpt.Verbs;

namespace Ckpt.Merging;

/// <summary>
/// `ckpt merge` and `#!ckpt-merge`: every option once (defaults from <see cref="MergeRequest"/>'s initialisers), and the
/// one binding to the request and where it is written.
/// </summary>
public static class MergeVerb
{
    static readonly MergeRequest Defaults = new();

    static string Text(double v) => v.ToString(CultureInfo.InvariantCulture);

    public static readonly Verb Definition = new("merge", "#!ckpt-merge",
        $"Merge checkpoints tensor by tensor into sharded safetensors ({MergeMethods.CliNames}, or a mergekit YAML).",
        [
            new("--config", "A mergekit-style YAML (merge_method, models, base_model, parameters, dtype).", OptionKind.Path),
            new("--method", MergeMethods.CliNames),
            new("--model", "An input checkpoint, any readable format, optionally path:weight; once per input.", OptionKind.Path) { Many = true },
            new("--base", "Base model for task-vector methods.", OptionKind.Path),
            new("--t", "SLERP factor (0 = first model).", OptionKind.Number) { Default = Text(Defaults.T) },
            new("--density", "Fraction of each task vector kept (TIES, DARE).", OptionKind.Number) { Default = Text(Defaults.Density) },
            new("--lambda", "Scale of the merged task vector.", OptionKind.Number) { Default = Text(Defaults.Lambda) },
            new("--rescale", "TIES/DARE: inverse-density (DARE's default), l1 (mergekit's rescale: true) or none."),
            new("--seed", "DARE drop-mask seed.", OptionKind.Integer) { Default = Defaults.Seed.ToString(CultureInfo.InvariantCulture) },
            new("--dtype", "Output dtype: " + DTypeNames.Help + " (default: as the inputs)."),
            new("--out", "Output folder.", OptionKind.Path) { Required = true },
            new("--overwrite", OutputFolder.OverwriteHelp, OptionKind.Flag),
            new("--max-shard-size", "Largest safetensors shard, e.g. 2GB.") { Default = "5GB" },
            new("--json", "Print the merge log as JSON.", OptionKind.Flag) { Surface = OptionSurface.CliOnly },
            new("--name", "Bind the merge report to this C# variable.") { Surface = OptionSurface.MagicOnly },
        ]);

    /// <summary>What to merge and where to write it.</summary>
    public sealed record Bound(MergeRequest Request, string Output, long MaxShardBytes, bool Overwrite);

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static Bound Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        var request = new MergeRequest
        {
            Config = v.Text("--config"),
            Method = v.Text("--method"),
            Models = v.All("--model"),
            Base = v.Text("--base"),
            T = v.Number("--t")!.Value,
            Density = v.Number("--density")!.Value,
            Lambda = v.Number("--lambda")!.Value,
            Rescale = v.Text("--rescale"),
            Seed = v.Unsigned("--seed")!.Value,
            DType = v.Text("--dtype"),
        };
        return new Bound(request, v.Required("--out"), ByteSize.Parse(v.Required("--max-shard-size")), v.Flag("--overwrite"));
    }
}
