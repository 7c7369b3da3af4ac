using Ckpt.Merging;

namespace Ckpt.Cli.Commands;

static class LcscCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(LcscVerb.Definition, LcscVerb.Bind, (request, asJson, cancellationToken) =>
    {
        var result = CombinationSearch.Run(request, cancellationToken: cancellationToken);
        if (asJson) stdout.WriteLine(result.ToJson(request));
        else
        {
            stdout.WriteLine($"best {result.MetricDescription}: {result.Search.Metric.ToString("G6", CultureInfo.InvariantCulture)} " +
                             $"after {result.Search.Evaluations} evaluations ({result.Search.Generations.Count} generations)");
            for (int i = 0; i < result.Checkpoints.Count; i++)
                stdout.WriteLine($"  {result.Search.Coefficients[i].ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture)}  {result.Checkpoints[i]}");
            if (result.LogPath is not null) stdout.WriteLine($"wrote the combination and {Path.GetFileName(result.LogPath)} to {request.OutputDirectory}");
        }
    });
}
