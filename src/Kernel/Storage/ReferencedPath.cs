namespace Ckpt.Storage;

/// <summary>
/// A file path that one checkpoint file names (an index's shard, a `.metadata` data file). A path leaving the
/// checkpoint folder is refused as the naming file's error, quoting the path as written: the sentence names
/// files relative to the checkpoint only, never where the checkpoint sits on this machine.
/// </summary>
internal static class ReferencedPath
{
    /// <summary>Whether <paramref name="path"/> exists, refusing it (as <paramref name="namingFile"/>'s error) when it leaves the folder.</summary>
    public static bool Exists(ICheckpointStorage storage, string path, string namingFile, string? tensor, string field, string written)
    {
        try
        {
            return storage.Exists(path);
        }
        catch (CheckpointFormatException e) when (e.Reason == FormatErrorReason.PathEscapesCheckpoint)
        {
            throw Escapes(namingFile, tensor, field, written, e);
        }
    }

    public static CheckpointFormatException Escapes(string namingFile, string? tensor, string field, string written, Exception? inner = null) =>
        new(FormatErrorReason.PathEscapesCheckpoint, namingFile, tensor,
            $"{field} names '{written}', which resolves outside the checkpoint folder", inner: inner);
}
