using Ckpt.Tensors;

namespace Ckpt.Conversion;

public enum TargetFormat { Safetensors, Dcp, Torch }

/// <summary>What `ckpt convert` / `#!ckpt-convert` is asked to do; validated before any byte is read.</summary>
public sealed record ConvertOptions(
    TargetFormat To,
    string OutputDirectory,
    long MaxShardBytes = 5L * 1024 * 1024 * 1024,
    IReadOnlyList<string>? Only = null,
    DType? DType = null,
    string? StripPrefix = null);

/// <summary>What a conversion wrote.</summary>
public sealed record ConversionResult(
    IReadOnlyList<string> Files,
    string? IndexFile,
    int TensorCount,
    long BytesWritten,
    IReadOnlyList<string> SkippedObjects,
    Monitoring.OperationTimeline Timeline);
