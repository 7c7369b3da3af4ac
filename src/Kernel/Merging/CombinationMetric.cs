namespace Ckpt.Merging;

/// <summary>
/// A number to minimise for a linear combination Σᵢ αᵢθᵢ of K checkpoints, given α. The built-in ones
/// (<see cref="CombinationEvalLoss"/>, <see cref="CombinationDistance"/>) hold the K checkpoints in memory once,
/// so each evaluation costs a combination and a metric, not K loads.
/// </summary>
public interface ICombinationMetric : IDisposable
{
    /// <summary>What is measured, for logs and charts (`eval loss on eval_batch.safetensors`).</summary>
    string Description { get; }
    double Evaluate(double[] coefficients);
}

/// <summary>
/// The `--eval` spec of `ckpt lcsc` and `#!ckpt-lcsc`:
/// <list type="bullet">
/// <item>`eval-loss:&lt;batch.safetensors&gt;[#key]`: mean next-token cross-entropy of the combined causal LM (config.json
/// beside the first checkpoint) on the batch's token ids (`input_ids`, `eval_input_ids`, or the key given); needs LibTorch.</item>
/// <item>`mse:&lt;checkpoint&gt;`: mean squared difference between the combination and that checkpoint over every floating
/// tensor (e.g. to find how a later checkpoint decomposes over earlier ones); pure .NET.</item>
/// </list>
/// </summary>
public static class CombinationMetrics
{
    public const string Syntax = "eval-loss:<batch.safetensors>[#key] or mse:<checkpoint>";

    /// <exception cref="FormatException">The spec has no known kind; the message names what was given.</exception>
    public static ICombinationMetric Open(string spec, IReadOnlyList<string> checkpoints, CancellationToken cancellationToken = default)
    {
        int colon = spec.IndexOf(':');
        var kind = colon > 0 ? spec[..colon].Trim().ToLowerInvariant() : spec.Trim();
        var argument = colon > 0 ? spec[(colon + 1)..].Trim() : "";
        if (argument.Length == 0 && kind is "eval-loss" or "mse")
            throw new FormatException($"--eval {spec} needs a file after '{kind}:' ({Syntax})");
        return kind switch
        {
            "eval-loss" => EvalLoss(argument, checkpoints, cancellationToken),
            "mse" => new CombinationDistance(checkpoints, argument, cancellationToken),
            _ => throw new FormatException($"--eval {spec} is not a metric ({Syntax})"),
        };
    }

    static ICombinationMetric EvalLoss(string argument, IReadOnlyList<string> checkpoints, CancellationToken cancellationToken)
    {
        int hash = argument.LastIndexOf('#');
        var (file, key) = hash > 0 ? (argument[..hash], argument[(hash + 1)..]) : (argument, null);
        return new CombinationEvalLoss(checkpoints, file, key, cancellationToken: cancellationToken);
    }
}
