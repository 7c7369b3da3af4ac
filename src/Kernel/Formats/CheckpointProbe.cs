namespace Ckpt.Formats;

/// <summary>Picks the format of a path by asking every <see cref="ICheckpointFormat"/> in priority order.</summary>
public static class CheckpointProbe
{
    static readonly Lazy<IReadOnlyList<ICheckpointFormat>> _formats = new(() =>
        Implementations<ICheckpointFormat>.All.OrderBy(f => f.Priority).ThenBy(f => f.Name, StringComparer.Ordinal).ToArray());

    public static IReadOnlyList<ICheckpointFormat> Formats => _formats.Value;

    public static ICheckpointFormat Find(ICheckpointStorage storage, string entry)
    {
        IncompleteCheckpoint.Refuse(storage, entry);
        if (entry.Length > 0 && storage.Exists(entry) && storage.Length(entry) == 0)
            throw new CheckpointFormatException(FormatErrorReason.EmptyFile, entry, null, "the file is empty");
        foreach (var format in Formats)
            if (format.Matches(storage, entry))
                return format;
        var what = entry.Length == 0 ? $"the folder {storage.Root}" : entry;
        throw new CheckpointFormatException(FormatErrorReason.UnknownFormat, entry.Length == 0 ? storage.Root : entry, null,
            $"no reader recognises {what} (known: {string.Join(", ", Formats.Select(f => f.Name).Distinct())})");
    }
}
