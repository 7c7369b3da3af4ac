using System.Text.Json.Nodes;

namespace Ckpt.Merging;

/// <summary>What `ckpt lcsc` / `#!ckpt-lcsc` is asked to do: which checkpoints, which metric, how long to search.</summary>
public sealed record CombinationSearchRequest
{
    /// <summary>A folder, a glob or a comma-separated list (<see cref="CheckpointSet"/>).</summary>
    public required string Checkpoints { get; init; }
    /// <summary>The metric spec (<see cref="CombinationMetrics"/>).</summary>
    public required string Eval { get; init; }
    public int Budget { get; init; } = 200;
    public ulong Seed { get; init; }
    /// <summary>Combine only the last this many checkpoints.</summary>
    public int? Last { get; init; }
    /// <summary>Where the best combination (sharded safetensors) and `lcsc_log.json` go; null writes nothing.</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>Output dtype of the written combination; null keeps the inputs'.</summary>
    public DType? OutputDType { get; init; }
    /// <summary>Lets the output replace a folder Ckpt wrote before (<see cref="Outputs.OutputFolder"/>).</summary>
    public bool Overwrite { get; init; }
}

/// <summary>The search's outcome: the inputs, the best coefficients and metric, every generation, and what was written.</summary>
public sealed record CombinationSearchResult(
    IReadOnlyList<string> Checkpoints,
    string Eval,
    string MetricDescription,
    LcscResult Search,
    MergeReport? Written,
    string? LogPath)
{
    /// <summary>The search log: inputs, seed, budget, best combination, per-generation progress and every evaluation.</summary>
    public string ToJson(CombinationSearchRequest request)
    {
        var search = JsonNode.Parse(Search.ToJson())!.AsObject();
        var log = new JsonObject
        {
            ["checkpoints"] = new JsonArray(Checkpoints.Select(c => (JsonNode)c).ToArray()),
            ["eval"] = Eval,
            ["metric"] = MetricDescription,
            ["budget"] = request.Budget,
            ["seed"] = request.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["output"] = request.OutputDirectory,
            ["outputFiles"] = Written?.Files is { } files ? new JsonArray(files.Select(f => (JsonNode)f).ToArray()) : null,
        };
        foreach (var (k, v) in search) log[k] = v?.DeepClone();
        return Verbs.VerbJson.Serialize(log);
    }
}

/// <summary>
/// LCSC end to end: resolve the checkpoints, open the metric once, run <see cref="LcscSearch"/>, then write the
/// best combination as a linear merge with those coefficients (through <see cref="MergeExecutor"/>, so it streams)
/// and the search log beside it. The CLI verb and the notebook magic both call this.
/// </summary>
public static class CombinationSearch
{
    public const string LogFileName = "lcsc_log.json";

    public static CombinationSearchResult Run(CombinationSearchRequest request, IProgress<LcscGeneration>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (request.Budget < 1) throw new FormatException($"--budget {request.Budget} must allow at least one evaluation");
        var checkpoints = CheckpointSet.Resolve(request.Checkpoints, request.Last, cancellationToken);
        // Refused before the search, which may take hours, rather than after it.
        if (request.OutputDirectory is { } target) Outputs.OutputFolder.Check(target, Inputs(request, checkpoints), request.Overwrite);
        using var metric = CombinationMetrics.Open(request.Eval, checkpoints, cancellationToken);
        var search = LcscSearch.Run(checkpoints.Count, metric.Evaluate, new LcscOptions { Budget = request.Budget, Seed = request.Seed },
            progress, cancellationToken);

        MergeReport? written = null;
        string? logPath = null;
        if (request.OutputDirectory is { } output)
        {
            var spec = new MergeSpec
            {
                Method = MergeMethods.Linear,
                Models = checkpoints.Select((c, i) => new MergeInput(c, search.Coefficients[i])).ToArray(),
                Normalize = false,
                OutputDType = request.OutputDType,
            };
            using var folder = Outputs.OutputFolder.Begin(output, Inputs(request, checkpoints), request.Overwrite);
            written = MergeExecutor.RunToStaging(spec, folder.Staging, MergeExecutor.DefaultMaxShardBytes, MergeExecutor.DefaultChunkElements, null, cancellationToken);
            CopyConfig(checkpoints[0], folder.Staging);
            var result = new CombinationSearchResult(checkpoints, request.Eval, metric.Description, search, written, Path.Combine(folder.Target, LogFileName));
            File.WriteAllText(Path.Combine(folder.Staging, LogFileName), result.ToJson(request));
            folder.Commit();
            return result;
        }
        return new CombinationSearchResult(checkpoints, request.Eval, metric.Description, search, written, logPath);
    }

    /// <summary>What the search reads: the checkpoints and the file the metric names (`eval-loss:batch.safetensors#key`, `mse:reference`).</summary>
    static IEnumerable<string?> Inputs(CombinationSearchRequest request, IReadOnlyList<string> checkpoints)
    {
        var metricFile = request.Eval.Split(':', 2) is [_, var rest] ? rest.Split('#')[0] : null;
        return checkpoints.Append(metricFile);
    }

    /// <summary>The combination is the same architecture: its config.json makes the output loadable as a model.</summary>
    static void CopyConfig(string firstCheckpoint, string output)
    {
        var folder = Directory.Exists(firstCheckpoint) ? firstCheckpoint : Path.GetDirectoryName(Path.GetFullPath(firstCheckpoint))!;
        var config = Path.Combine(folder, "config.json");
        if (File.Exists(config)) File.Copy(config, Path.Combine(output, "config.json"));
    }
}
