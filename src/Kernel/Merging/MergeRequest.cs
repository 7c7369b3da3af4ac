namespace Ckpt.Merging;

/// <summary>
/// A merge as `ckpt merge` and `#!ckpt-merge` spell it: either `--config merge.yaml` or `--method` with repeated
/// `--model path[:weight]`, `--base`, `--t`, `--density`, `--lambda`, `--seed`; `--rescale` and `--dtype` apply to both.
/// Turned into a <see cref="MergeSpec"/> in one place so both surfaces mean the same thing by the same text.
/// </summary>
public sealed record MergeRequest
{
    [Option("--config", "A mergekit-style YAML (merge_method, models, base_model, parameters, dtype).", Path = true)]
    public string? Config { get; init; }

    [Option("--method", nameof(MergeMethods.CliNames), HelpFrom = typeof(MergeMethods))]
    public string? Method { get; init; }

    [Option("--model", "An input checkpoint, any readable format, optionally path:weight; once per input.", Path = true)]
    public IReadOnlyList<string> Models { get; init; } = [];

    [Option("--base", "Base model for task-vector methods.", Path = true)]
    public string? Base { get; init; }

    [Option("--t", "SLERP factor (0 = first model).")]
    public double T { get; init; } = 0.5;

    [Option("--density", "Fraction of each task vector kept (TIES, DARE).")]
    public double Density { get; init; } = 1.0;

    [Option("--lambda", "Scale of the merged task vector.")]
    public double Lambda { get; init; } = 1.0;

    /// <summary>`inverse-density`, `l1` or `none`; null takes the method's default (<see cref="TaskVectorRescale"/>).</summary>
    [Option("--rescale", "TIES/DARE: inverse-density (DARE's default), l1 (mergekit's rescale: true) or none.")]
    public TaskVectorRescale? Rescale { get; init; }

    [Option("--seed", "DARE drop-mask seed.")]
    public ulong Seed { get; init; }

    [Option("--dtype", "Output dtype: " + DTypeNames.Help + " (default: as the inputs).")]
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
        if (Rescale is { } rescale) spec = spec with { Rescale = rescale };
        return DTypeNames.Floating(DType) is { } d ? spec with { OutputDType = d } : spec;
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
