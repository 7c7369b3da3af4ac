using System.CommandLine;
using System.Globalization;
using Ckpt.Conversion;
using Ckpt.Merging;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

static class LcscCommand
{
    public static Command Create(TextWriter stdout)
    {
        var checkpoints = new Argument<string>("checkpoints") { Description = "a folder of checkpoints, a glob (run/step-*.safetensors) or a comma-separated list" };
        var eval = new Option<string>("--eval")
        {
            Description = "the metric to minimise: eval-loss:<batch.safetensors>[#key] (causal-LM eval loss of the combination on the batch's " +
                          "input_ids or eval_input_ids; config.json beside the first checkpoint) or mse:<checkpoint> (mean squared difference to it)",
            Required = true,
        };
        var budget = new Option<int>("--budget") { Description = "metric evaluations, the uniform start included", DefaultValueFactory = _ => 200 };
        var seed = new Option<ulong>("--seed") { Description = "search seed: the same seed gives the same result", DefaultValueFactory = _ => 0UL };
        var last = new Option<int?>("--last") { Description = "combine only the last N checkpoints (in name order)" };
        var output = new Option<string?>("--out") { Description = "write the best combination (safetensors) and lcsc_log.json here" };
        var overwrite = new Option<bool>("--overwrite") { Description = OutputFolder.OverwriteHelp };
        var dtype = new Option<string?>("--dtype") { Description = "dtype of the written combination: F32, BF16, F16, F64 (default: as the inputs)" };
        var json = new Option<bool>("--json") { Description = "print the result as JSON: coefficients, metric, generations" };
        var command = new Command("lcsc", "Search linear combinations of saved checkpoints (LCSC: coefficients sum to 1, may be negative) for the lowest metric.")
            { checkpoints, eval, budget, seed, last, output, overwrite, dtype, json };
        command.SetAction((parse, cancellationToken) =>
        {
            var request = new CombinationSearchRequest
            {
                Checkpoints = parse.GetValue(checkpoints)!,
                Eval = parse.GetValue(eval)!,
                Budget = parse.GetValue(budget),
                Seed = parse.GetValue(seed),
                Last = parse.GetValue(last),
                OutputDirectory = parse.GetValue(output),
                OutputDType = OptionValues.DType(parse.GetValue(dtype)),
                Overwrite = parse.GetValue(overwrite),
            };
            var result = CombinationSearch.Run(request, cancellationToken: cancellationToken);
            if (parse.GetValue(json)) stdout.WriteLine(result.ToJson(request));
            else
            {
                stdout.WriteLine($"best {result.MetricDescription}: {result.Search.Metric.ToString("G6", CultureInfo.InvariantCulture)} " +
                                 $"after {result.Search.Evaluations} evaluations ({result.Search.Generations.Count} generations)");
                for (int i = 0; i < result.Checkpoints.Count; i++)
                    stdout.WriteLine($"  {result.Search.Coefficients[i].ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture)}  {result.Checkpoints[i]}");
                if (result.LogPath is not null) stdout.WriteLine($"wrote the combination and {Path.GetFileName(result.LogPath)} to {request.OutputDirectory}");
            }
            return Task.FromResult(0);
        });
        return command;
    }
}
