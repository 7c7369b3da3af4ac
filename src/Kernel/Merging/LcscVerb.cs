using Ckpt.Outputs;

namespace Ckpt.Merging;

/// <summary>
/// `ckpt lcsc` and `#!ckpt-lcsc`: every option once (defaults from <see cref="CombinationSearchRequest"/>'s
/// initialisers), and the one binding to the request.
/// </summary>
public static class LcscVerb
{
    static readonly CombinationSearchRequest Defaults = new() { Checkpoints = "", Eval = "" };

    public static readonly Verb Definition = new("lcsc", "#!ckpt-lcsc",
        "Search linear combinations of saved checkpoints (LCSC: coefficients sum to 1, may be negative) for the lowest metric.",
        [
            new("--checkpoints", "A folder of checkpoints, a glob (run/step-*.safetensors), or a list: comma-separated or one value each.", OptionKind.Path)
                { Positional = true, Many = true, Required = true, Noun = "checkpoints" },
            new("--eval", "The metric to minimise: eval-loss:<batch.safetensors>[#key] (causal-LM eval loss of the combination on the batch's " +
                          "input_ids or eval_input_ids; config.json beside the first checkpoint; needs LibTorch) or mse:<checkpoint> (mean squared difference to it).")
                { Required = true },
            new("--budget", "Metric evaluations, the uniform start included.", OptionKind.Integer) { Default = Defaults.Budget.ToString(CultureInfo.InvariantCulture) },
            new("--seed", "Search seed: the same seed gives the same result.", OptionKind.Integer) { Default = Defaults.Seed.ToString(CultureInfo.InvariantCulture) },
            new("--last", "Combine only the last N checkpoints (in name order).", OptionKind.Integer),
            new("--out", "Write the best combination (safetensors) and lcsc_log.json here.", OptionKind.Path),
            new("--overwrite", OutputFolder.OverwriteHelp, OptionKind.Flag),
            new("--dtype", "Dtype of the written combination: " + DTypeNames.Help + " (default: as the inputs)."),
            VerbOption.CliJson("Print the result as JSON: coefficients, metric, generations."),
            VerbOption.MagicName("Bind the search result to this C# variable."),
        ])
    {
        MagicUsage = "#!ckpt-lcsc <folder|glob|a,b,c|a b c> --eval " + CombinationMetrics.Syntax,
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static CombinationSearchRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        return new CombinationSearchRequest
        {
            // Several values are a list, as one comma-separated value is (CheckpointSet).
            Checkpoints = string.Join(",", v.All("--checkpoints")),
            Eval = v.Required("--eval"),
            Budget = v.Integer("--budget")!.Value,
            Seed = v.Unsigned("--seed")!.Value,
            Last = v.Integer("--last"),
            OutputDirectory = v.Text("--out"),
            OutputDType = DTypeNames.ParseOptional(v.Text("--dtype")),
            Overwrite = v.Flag("--overwrite"),
        };
    }
}
