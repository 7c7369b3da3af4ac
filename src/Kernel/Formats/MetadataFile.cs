namespace Ckpt.Formats;

/// <summary>
/// A format's small metadata file (an index, a `.metadata`, a `metadata.json`) read whole, after its length is checked:
/// an empty one or one over the format's limit is refused before a byte is read.
/// </summary>
static class MetadataFile
{
    /// <param name="tooLarge">The sentence for a file over <paramref name="maxBytes"/> (HeaderTooLarge).</param>
    /// <param name="empty">The sentence for an empty file (EmptyFile); null where the parser reports it.</param>
    public static byte[] ReadAll(ICheckpointStorage storage, string file, long maxBytes, string tooLarge, string? empty)
    {
        long length = storage.Length(file);
        if (length == 0 && empty is not null) throw new CheckpointFormatException(FormatErrorReason.EmptyFile, file, null, empty);
        if (length > maxBytes)
            throw new CheckpointFormatException(FormatErrorReason.HeaderTooLarge, file, null, tooLarge,
                expected: $"≤ {maxBytes} bytes", found: $"{length} bytes");
        var bytes = new byte[length];
        storage.Read(file, 0, bytes, IoCategory.Metadata);
        return bytes;
    }
}
