namespace Ckpt.Formats;

/// <summary>
/// The metadata of a checkpoint that is one weights file (safetensors, torch.save): the file's own, overlaid by what
/// the <see cref="HfConfig">config.json</see> and <see cref="TrainerStateFiles">trainer_state.json</see> beside it say.
/// </summary>
static class WeightsFileMetadata
{
    public static Dictionary<string, string> Of(ICheckpointStorage storage, string file, IReadOnlyDictionary<string, string> own)
    {
        var dir = Path.GetDirectoryName(file)?.Replace('\\', '/') ?? "";
        var metadata = new Dictionary<string, string>(own, StringComparer.Ordinal);
        foreach (var kv in HfConfig.Describe(storage, dir)) metadata[kv.Key] = kv.Value;
        foreach (var kv in TrainerStateFiles.Describe(storage, dir)) metadata[kv.Key] = kv.Value;
        return metadata;
    }
}
