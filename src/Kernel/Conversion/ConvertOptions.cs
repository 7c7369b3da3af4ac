using System.Text.Json.Nodes;

namespace Ckpt.Conversion;

/// <summary>What `--to` writes: Hugging Face safetensors (also spelled `hf`), a one-rank DCP, or torch.save's zip (`pt`).</summary>
public enum TargetFormat { [OptionSpelling("hf")] Safetensors, Dcp, [OptionSpelling("pt")] Torch }

/// <summary>
/// What `ckpt convert` / `#!ckpt-convert` is asked to do; validated before any byte is read. <paramref name="MergeAdapter"/>
/// names a PEFT LoRA adapter folder to fold into the weights as they stream (see <see cref="Training.LoraMerge"/>);
/// <paramref name="Overwrite"/> lets the output replace a folder Ckpt wrote before (see <see cref="Outputs.OutputFolder"/>);
/// <paramref name="Share"/> makes this process write only its part of the output (see <see cref="Outputs.OutputParts"/>).
/// </summary>
public sealed record ConvertOptions(
    TargetFormat To,
    string OutputDirectory,
    long MaxShardBytes = 5L * 1024 * 1024 * 1024,
    IReadOnlyList<string>? Only = null,
    DType? DType = null,
    string? StripPrefix = null,
    string? MergeAdapter = null,
    bool Overwrite = false,
    Cluster.WorkShare? Share = null);

/// <summary>What a conversion wrote.</summary>
public sealed record ConversionResult(
    IReadOnlyList<string> Files,
    string? IndexFile,
    int TensorCount,
    long BytesWritten,
    IReadOnlyList<string> SkippedObjects,
    Monitoring.OperationTimeline Timeline)
{
    /// <summary>config.json, tokenizer and generation files copied from beside the source, so the output loads as a model.</summary>
    public IReadOnlyList<string> CopiedFiles { get; init; } = [];
    /// <summary>Base weights a merged adapter changed.</summary>
    public int MergedWeights { get; init; }

    /// <summary>`ckpt convert --json`'s document (docs/json.md); `phases` in the order the timeline first saw each.</summary>
    public JsonObject ToJson() => new()
    {
        ["files"] = new JsonArray(Files.Select(f => (JsonNode)f).ToArray()),
        ["index"] = IndexFile,
        ["tensors"] = TensorCount,
        ["bytes"] = BytesWritten,
        ["skippedObjects"] = new JsonArray(SkippedObjects.Select(s => (JsonNode)s).ToArray()),
        ["copiedFiles"] = new JsonArray(CopiedFiles.Select(f => (JsonNode)f).ToArray()),
        ["mergedWeights"] = MergedWeights,
        ["phases"] = Monitoring.OperationTimeline.PhasesJson(Timeline.Phases),
    };
}
