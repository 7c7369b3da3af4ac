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
}
