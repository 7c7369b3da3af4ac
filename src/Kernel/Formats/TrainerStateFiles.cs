using Ckpt.Formats.Text;

namespace Ckpt.Formats;

/// <summary>
/// The files HF Trainer writes beside the model in `checkpoint-N/` (transformers' trainer.py: `trainer_state.json`,
/// `optimizer.pt`, `scheduler.pt`, `scaler.pt`, `rng_state*.pth`, `training_args.bin`), listed for the manifest's
/// metadata as `trainer.files` and `trainer.global_step`. They are never read as the checkpoint's tensors.
/// </summary>
static class TrainerStateFiles
{
    static readonly string[] Names = ["trainer_state.json", "optimizer.pt", "optimizer.bin", "scheduler.pt", "scaler.pt", "training_args.bin"];

    public static Dictionary<string, string> Describe(ICheckpointStorage storage, string directory)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var prefix = directory.Length == 0 ? "" : directory + "/";
        var files = storage.List(directory).Select(f => f[prefix.Length..])
            .Where(f => Names.Contains(f) || (f.StartsWith("rng_state", StringComparison.Ordinal) && f.EndsWith(".pth", StringComparison.Ordinal)))
            .ToArray();
        if (files.Length == 0) return result;
        result["trainer.files"] = string.Join(", ", files);
        if (files.Contains("trainer_state.json") && GlobalStep(storage, prefix + "trainer_state.json") is { } step)
            result["trainer.global_step"] = step;
        return result;
    }

    static string? GlobalStep(ICheckpointStorage storage, string path)
    {
        if (SmallFile.Read(storage, path, 16 * 1024 * 1024) is not { } bytes) return null;
        try
        {
            using var doc = JsonLimits.Parse(bytes, path, FormatErrorReason.MetadataInvalid);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("global_step", out var s) ? s.GetRawText() : null;
        }
        catch (Exception e) when (e is JsonException or CheckpointFormatException) { return null; }  // a broken log does not hide the weights
    }
}
