using Ckpt.Outputs;

namespace Ckpt.Merging;

/// <summary>
/// `ckpt lcsc` and `#!ckpt-lcsc`: the options <see cref="Given"/> declares (defaults from
/// <see cref="CombinationSearchRequest"/>'s initialisers), and the one binding to the request.
/// </summary>
public static class LcscVerb
{
    static readonly CombinationSearchRequest Defaults = new() { Checkpoints = "", Eval = "" };

    /// <summary>The options as given; <see cref="Bind"/> joins the checkpoints and parses --dtype.</summary>
    public sealed class Given
    {
        [Option("--checkpoints", "A folder of checkpoints, a glob (run/step-*.safetensors), or a list: comma-separated or one value each.", Path = true, Positional = true, Required = true, Noun = "checkpoints")]
        public IReadOnlyList<string> Checkpoints { get; init; } = [];

        [Option("--eval", "The metric to minimise: eval-loss:<batch.safetensors>[#key] (causal-LM eval loss of the combination on the batch's " +
                          "input_ids or eval_input_ids; config.json beside the first checkpoint; needs LibTorch) or mse:<checkpoint> (mean squared difference to it).", Required = true)]
        public string? Eval { get; init; }

        [Option("--budget", "Metric evaluations, the uniform start included.")]
        public int Budget { get; init; } = Defaults.Budget;

        [Option("--seed", "Search seed: the same seed gives the same result.")]
        public ulong Seed { get; init; } = Defaults.Seed;

        [Option("--last", "Combine only the last N checkpoints (in name order).")]
        public int? Last { get; init; }

        [Option("--out", "Write the best combination (safetensors) and lcsc_log.json here.", Path = true)]
        public string? Output { get; init; }

        [Option("--overwrite", OutputFolder.OverwriteHelp)]
        public bool Overwrite { get; init; }

        [Option("--dtype", "Dtype of the written combination: " + DTypeNames.Help + " (default: as the inputs).")]
        public string? DType { get; init; }
    }

    public static readonly Verb Definition = Verb.Of<Given>("lcsc", "#!ckpt-lcsc",
        "Search linear combinations of saved checkpoints (LCSC: coefficients sum to 1, may be negative) for the lowest metric.",
        [VerbOption.CliJson("Print the result as JSON: coefficients, metric, generations."), VerbOption.MagicName("Bind the search result to this C# variable.")],
        magicUsage: "#!ckpt-lcsc <folder|glob|a,b,c|a b c> --eval " + CombinationMetrics.Syntax,
        magicSummary: "Searches linear combinations of saved checkpoints (LCSC; coefficients sum to 1) for the lowest metric, with a live chart. --eval "
            + CombinationMetrics.Syntax + ".");

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static CombinationSearchRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var g = Definition.Bind<Given>(given);
        return new CombinationSearchRequest
        {
            // Several values are a list, as one comma-separated value is (CheckpointSet).
            Checkpoints = string.Join(",", g.Checkpoints),
            Eval = g.Eval!,
            Budget = g.Budget,
            Seed = g.Seed,
            Last = g.Last,
            OutputDirectory = g.Output,
            OutputDType = DTypeNames.Floating(g.DType),
            Overwrite = g.Overwrite,
        };
    }
}
