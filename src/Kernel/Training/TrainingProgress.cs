namespace Ckpt.Training;

/// <summary>
/// One optimizer step, as reported to the caller's IProgress: the loss computed in that step (before its update),
/// the learning rate it used, throughput, and for DPO TRL's metrics under TRL's names (rewards/chosen,
/// rewards/rejected, rewards/accuracies, rewards/margins, logps/chosen, logps/rejected).
/// </summary>
public sealed record TrainingProgress(int Step, int TotalSteps, double Epoch, double Loss, double LearningRate, double GradNorm,
    long Tokens, double TokensPerSecond, TimeSpan Elapsed, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>Padding positions in the step's rows (rows × width − <see cref="Tokens"/>): the compute that packing saves.</summary>
    public long PaddingTokens { get; init; }

    /// <summary>
    /// Tokens per second of optimizer-step time over the steps run so far: the figure the run's summary reports
    /// (<see cref="FineTuningResult.MeanTokensPerSecond"/>), where <see cref="TokensPerSecond"/> is this step's alone
    /// (the first step's includes warm-up, a save or evaluation is excluded from both).
    /// </summary>
    public double MeanTokensPerSecond { get; init; }

    /// <summary>The record as TRL's log keys (step, loss, learning_rate, grad_norm, epoch; then this step's real and padding tokens and tokens_per_second; then Metrics).</summary>
    public IReadOnlyDictionary<string, double> Fields()
    {
        var fields = new Dictionary<string, double>
        {
            ["step"] = Step,
            ["loss"] = Loss,
            ["learning_rate"] = LearningRate,
            ["grad_norm"] = GradNorm,
            ["epoch"] = Epoch,
            ["tokens"] = Tokens,
            ["padding_tokens"] = PaddingTokens,
            ["tokens_per_second"] = TokensPerSecond,
            ["mean_tokens_per_second"] = MeanTokensPerSecond,
        };
        foreach (var (k, v) in Metrics) fields[k] = v;
        return fields;
    }

    /// <summary>
    /// `ckpt finetune --json`'s line for this step (docs/json.md): the fixed keys camelCase, the recipe's metrics
    /// (`rewards/chosen`, `forget_loss`, `eval_loss` after an evaluation) under `metrics` with the names TRL logs them under.
    /// </summary>
    public Dictionary<string, object?> ToJson() => new()
    {
        ["step"] = Step,
        ["totalSteps"] = TotalSteps,
        ["loss"] = Loss,
        ["learningRate"] = LearningRate,
        ["gradNorm"] = GradNorm,
        ["epoch"] = Epoch,
        ["tokens"] = Tokens,
        ["paddingTokens"] = PaddingTokens,
        ["tokensPerSecond"] = TokensPerSecond,
        ["meanTokensPerSecond"] = MeanTokensPerSecond,
        ["metrics"] = Metrics,
    };
}
