namespace Ckpt.Storage;

/// <summary>The path rules and folder listing of a storage whose files are flat '/'-separated keys (memory, object stores).</summary>
internal static class FlatKeys
{
    /// <summary>Refuses a key that is absolute, has a backslash or NUL, or a '..' part: it would leave the checkpoint.</summary>
    public static string Check(string path)
    {
        if (path.StartsWith('/') || path.Contains('\\') || path.Contains('\0') || path.Split('/').Contains(".."))
            throw new CheckpointFormatException(FormatErrorReason.PathEscapesCheckpoint, path, null, "the path leaves the checkpoint");
        return path;
    }

    /// <summary>The keys directly inside <paramref name="directory"/> ("" for the root), in ordinal order.</summary>
    public static IReadOnlyList<string> List(IEnumerable<string> keys, string directory)
    {
        var prefix = directory.Length == 0 ? "" : Check(directory).TrimEnd('/') + "/";
        return keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !k[prefix.Length..].Contains('/'))
            .Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The folders directly inside <paramref name="directory"/>: the first segment of the deeper keys under it.</summary>
    public static IReadOnlyList<string> Folders(IEnumerable<string> keys, string directory)
    {
        var prefix = directory.Length == 0 ? "" : Check(directory).TrimEnd('/') + "/";
        return keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && k.IndexOf('/', prefix.Length) > prefix.Length)
            .Select(k => k[..k.IndexOf('/', prefix.Length)]).Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal).ToArray();
    }
}
