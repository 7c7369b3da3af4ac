using System.Globalization;
using Ckpt.Conversion;

namespace Ckpt.Merging;

/// <summary>
/// A merge as `ckpt merge` and `#!ckpt-merge` spell it: either `--config merge.yaml` or `--method` with repeated
/// `--model path[:weight]`, `--base`, `--t`, `--density`, `--lambda`, `--seed`; `--rescale` and `--dtype` apply to both.
/// Turned into a <see cref="MergeSpec"/> in one place so both surfaces mean the same thing by the same text.
/// </summary>
public sealed record MergeRequest
{
    public string? Config { get; init; }
    public string? Method { get; init; }
    public IReadOnlyList<string> Models { get; init; } = [];
    public string? Base { get; init; }
    public double T { get; init; } = 0.5;
    public double Density { get; init; } = 1.0;
    public double Lambda { get; init; } = 1.0;
    /// <summary>`inverse-density`, `l1` or `none`; null takes the method's default (<see cref="TaskVectorRescale"/>).</summary>
    public string? Rescale { get; init; }
    public ulong Seed { get; init; }
    public string? DType { get; init; }

    /// <summary>The merge to run; validated by <see cref="MergeExecutor"/> before any tensor is read.</summary>
    /// <exception cref="FormatException">No method, an unknown method or rescale (named), or a bad `--dtype`.</exception>
    public MergeSpec ToSpec()
    {
        MergeSpec spec;
        if (Config is not null) spec = MergeConfigParser.ParseFile(Config);
        else
        {
            var name = Method ?? throw new FormatException("--method or --config is required");
            if (!MergeMethods.TryParse(name, out var m))
                throw new FormatException($"--method {name} is not a merge method ({MergeMethods.CliNames})");
            spec = new MergeSpec
            {
                Method = m,
                Models = Models.Select(ParseModel).SelectMany(Members).ToArray(),
                BaseModel = Base,
                T = T,
                Density = Density,
                Lambda = Lambda,
                Seed = Seed,
            };
        }
        // Like --dtype, --rescale applies to a config too: a YAML written for mergekit before v0.1.0 (1/density) can
        // be run as it was with --rescale inverse-density.
        if (Rescale is not null)
            spec = spec with
            {
                Rescale = TaskVectorRescales.TryParse(Rescale, out var r) ? r
                    : throw new FormatException($"--rescale {Rescale} is not a rescale (inverse-density | l1 | none)"),
            };
        return OptionValues.DType(DType) is { } d ? spec with { OutputDType = d } : spec;
    }

    /// <summary>A checkpoint set given as one `--model` is each of its members, with the weight given (a soup of a run).</summary>
    static IEnumerable<MergeInput> Members(MergeInput model) =>
        CheckpointSet.TryOpen(model.Path) is { } set ? set.Members.Select(m => model with { Path = m.Path }) : [model];

    /// <summary>`path` or `path:weight`; a suffix that is not a number stays part of the path.</summary>
    public static MergeInput ParseModel(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon > 0 && double.TryParse(text[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var w))
            return new MergeInput(text[..colon], w);
        return new MergeInput(text);
    }
}
