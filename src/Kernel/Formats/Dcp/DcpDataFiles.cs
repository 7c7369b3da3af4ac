namespace Ckpt.Formats.Dcp;

/// <summary>
/// The data files `.metadata` refers to: each checked once for existence and length, and every item's
/// [offset, offset+length) checked against that length.
/// </summary>
internal sealed class DcpDataFiles(ICheckpointStorage storage, string metadataFile, string folder)
{
    readonly SortedDictionary<string, long> _lengths = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> All => _lengths;

    /// <summary>The storage path of the item's file, after checking the path, the file and the byte range.</summary>
    public string Check(string fqn, DcpStorageInfo info)
    {
        var path = DcpStoragePath.Resolve(metadataFile, folder, fqn, info.RelativePath);
        if (!_lengths.TryGetValue(path, out var length))
        {
            if (!ReferencedPath.Exists(storage, path, metadataFile, fqn, "relative_path", info.RelativePath))
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, path, fqn,
                    $"{metadataFile} places this item in '{info.RelativePath}', which does not exist");
            length = storage.Length(path);
            _lengths[path] = length;
        }
        if (info.Offset < 0 || info.Length < 0)
            throw new CheckpointFormatException(FormatErrorReason.OffsetOutOfBounds, path, fqn,
                $"the item's byte range has offset {info.Offset} and length {info.Length}", expected: "non-negative", found: $"{info.Offset}, {info.Length}");
        if (info.Offset > length || info.Length > length - info.Offset)
            throw new CheckpointFormatException(FormatErrorReason.Truncated, path, fqn,
                $"the item's bytes [{info.Offset}, {info.Offset + info.Length}) end past the end of the file",
                expected: $"{info.Offset + info.Length} bytes", found: $"{length} bytes");
        return path;
    }
}
