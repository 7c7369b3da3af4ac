namespace Ckpt.Merging;

/// <summary>What a merge did: the small JSON log written beside the output.</summary>
public sealed record MergeReport
{
    public required string Method { get; init; }
    public required IReadOnlyList<MergeInput> Models { get; init; }
    public string? BaseModel { get; init; }
    public required IReadOnlyDictionary<string, object?> Parameters { get; init; }
    public required int Tensors { get; init; }
    public required long Elements { get; init; }
    /// <summary>Tensor bytes of all inputs, each counted once.</summary>
    public required long InputBytes { get; init; }
    /// <summary>Tensor bytes actually read from storage (more than <see cref="InputBytes"/> when statistic passes re-read chunks).</summary>
    public required long BytesRead { get; init; }
    public required long BytesWritten { get; init; }
    public required double Seconds { get; init; }
    /// <summary>Output files, relative to the output folder (null when merged into a sink).</summary>
    public IReadOnlyList<string>? Files { get; init; }
    /// <summary>Tensors merged with a lerp because their two sides were near-colinear (SLERP only).</summary>
    public IReadOnlyList<string> ColinearFallbacks { get; init; } = [];
    /// <summary>Non-floating tensors copied from the reference input unchanged.</summary>
    public IReadOnlyList<string> Copied { get; init; } = [];

    public double InputGigabytesPerSecond => Seconds > 0 ? InputBytes / 1e9 / Seconds : 0;

    /// <summary>`merge_log.json` and `ckpt merge --json`, camelCase as every verb's JSON (<see cref="Verbs.VerbJson"/>).</summary>
    public string ToJson() => Verbs.VerbJson.Serialize(this);
}
