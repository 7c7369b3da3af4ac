using Ckpt.Conversion;
using Ckpt.Outputs;

namespace Ckpt.Merging;

/// <summary>
/// `ckpt merge` and `#!ckpt-merge`: the options <see cref="MergeRequest"/> declares, then where the merge is written
/// (bound beside the request, as <see cref="Bound"/>) and the surface-only ones.
/// </summary>
public static class MergeVerb
{
    public static readonly Verb Definition = Verb.Of<MergeRequest>("merge", "#!ckpt-merge",
        $"Merge checkpoints tensor by tensor into sharded safetensors ({MergeMethods.CliNames}, or a mergekit YAML).",
        [
            new("--out", "Output folder.", OptionKind.Path) { Required = true },
            new("--overwrite", OutputFolder.OverwriteHelp, OptionKind.Flag),
            new("--max-shard-size", "Largest safetensors shard, e.g. 2GB.") { Default = "5GB" },
            VerbOption.CliJson("Print the merge log as JSON."),
            VerbOption.MagicName("Bind the merge report to this C# variable."),
        ], magicUsage: "#!ckpt-merge --method " + string.Join("|", MergeMethods.All.Select(m => m.CliName)) + " --model a[:w] --model b[:w] --out dir");

    /// <summary>What to merge and where to write it.</summary>
    public sealed record Bound(MergeRequest Request, string Output, long MaxShardBytes, bool Overwrite);

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static Bound Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        return new Bound(RequestOptions<MergeRequest>.Bind(v), v.Required("--out"), ByteSize.Parse(v.Required("--max-shard-size")), v.Flag("--overwrite"));
    }
}
