using Ckpt.Resilience;

namespace Ckpt.Training;

/// <summary>What a run did: where its adapter is, how far it got, its last step, and every checkpoint save with its phase timeline.</summary>
public sealed record FineTuningResult(
    Recipe Recipe,
    string AdapterDirectory,
    string CheckpointDirectory,
    int StartStep,
    int StepsCompleted,
    int TotalSteps,
    bool Cancelled,
    TrainingProgress? Last,
    double MeanTokensPerSecond,
    int Examples,
    int DroppedExamples,
    long TrainableParameters,
    long TotalParameters,
    QuantizedBaseReport? QuantizedBase,
    string? Tokenizer,
    IReadOnlyList<SaveRecord> Saves,
    TimeSpan Elapsed)
{
    /// <summary>Rows the examples were packed into (one epoch), when the run packed them.</summary>
    public int? PackedRows { get; init; }

    /// <summary>A full fine-tune (<c>--full</c>): <see cref="AdapterDirectory"/> holds the whole model (model.safetensors, config.json), not an adapter.</summary>
    public bool FullModel { get; init; }

    /// <summary>What the output folder holds: "model" or "adapter".</summary>
    public string Saved => FullModel ? "model" : "adapter";

    /// <summary>The longest stall a save caused, in ms; null when the run saved nothing.</summary>
    public double? MaxSaveStallMs => Saves.Count == 0 ? null : Saves.Max(s => s.Stall.TotalMilliseconds);

    /// <summary>The stall of the last synchronous save (the final one, or a cancelled run's), in ms; null when there was none.</summary>
    public double? SyncSaveMs => Saves.Where(s => !s.Async).Select(s => (double?)s.Stall.TotalMilliseconds).LastOrDefault();

    /// <summary>`ckpt finetune --json`'s last line, with `"done": true` (docs/json.md): camelCase keys; `metrics` are
    /// the last step's, named as TRL names them.</summary>
    public Dictionary<string, object?> ToJson() => new()
    {
        ["done"] = true,
        ["recipe"] = Recipe.ToString().ToLowerInvariant(),
        ["cancelled"] = Cancelled,
        ["startStep"] = StartStep,
        ["stepsCompleted"] = StepsCompleted,
        ["totalSteps"] = TotalSteps,
        ["finalLoss"] = Last?.Loss,
        ["meanTokensPerSecond"] = MeanTokensPerSecond,
        ["examples"] = Examples,
        ["packedRows"] = PackedRows,
        ["droppedExamples"] = DroppedExamples,
        ["trainableParameters"] = TrainableParameters,
        ["totalParameters"] = TotalParameters,
        ["quantizedBytesPerParameter"] = QuantizedBase?.BytesPerParameter,
        [Saved] = AdapterDirectory,
        ["checkpoints"] = CheckpointDirectory,
        ["saves"] = Saves.Count,
        ["maxSaveStallMs"] = MaxSaveStallMs,
        ["asyncSaveStallMs"] = Saves.Where(s => s.Async).Select(s => (double?)s.Stall.TotalMilliseconds).Average(),
        ["syncSaveMs"] = SyncSaveMs,
        ["saveStallsMs"] = Saves.Select(s => s.Stall.TotalMilliseconds).ToArray(),
        ["saveBytes"] = Saves.Count == 0 ? null : Saves[^1].Timeline.Phases.GetValueOrDefault("write").Bytes,
        ["metrics"] = Last?.Metrics,
        ["seconds"] = Elapsed.TotalSeconds,
    };
}
