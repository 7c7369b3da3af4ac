namespace Ckpt.Formats.Text;

/// <summary>A small side file of a checkpoint (a config, a trainer log) read whole, as metadata I/O.</summary>
static class SmallFile
{
    /// <summary>The bytes of <paramref name="path"/>, or null where it is longer than <paramref name="maxBytes"/>.</summary>
    public static byte[]? Read(ICheckpointStorage storage, string path, long maxBytes)
    {
        long length = storage.Length(path);
        if (length > maxBytes) return null;
        var bytes = new byte[length];
        storage.Read(path, 0, bytes, IoCategory.Metadata);
        return bytes;
    }
}
