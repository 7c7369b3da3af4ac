namespace Ckpt.Storage;

/// <summary>
/// A checkpoint held in memory (path → bytes): for tests, fuzzing and checkpoints received over the wire.
/// Applies the same path rules as <see cref="LocalStorage"/>.
/// </summary>
public sealed class MemoryStorage(IReadOnlyDictionary<string, byte[]> files, string root = "memory:") : ICheckpointStorage
{
    public string Root => root;
    public IoStatistics Statistics { get; } = new();

    public bool Exists(string path) => files.ContainsKey(Check(path));

    public long Length(string path) => Get(path).LongLength;

    public IReadOnlyList<string> List(string directory = "") => FlatKeys.List(files.Keys, directory);
    public IReadOnlyList<string> Folders(string directory = "") => FlatKeys.Folders(files.Keys, directory);

    public void Read(string path, long offset, Span<byte> destination, IoCategory category)
    {
        var bytes = Get(path);
        if (offset < 0 || offset + destination.Length > bytes.LongLength)
            throw new CheckpointFormatException(FormatErrorReason.Truncated, path, null,
                $"the file ends before byte {offset + destination.Length}",
                expected: $"{offset + destination.Length} bytes", found: $"{bytes.LongLength} bytes");
        bytes.AsSpan((int)offset, destination.Length).CopyTo(destination);
        Statistics.Record(category, destination.Length);
    }

    byte[] Get(string path) => files.TryGetValue(Check(path), out var b) ? b
        : throw new CheckpointFormatException(FormatErrorReason.MissingFile, path, null, "the file does not exist");

    static string Check(string path) => FlatKeys.Check(path);

    /// <summary>Loads every file under <paramref name="directory"/> (hidden ones too) into memory.</summary>
    public static MemoryStorage FromDirectory(string directory) =>
        new(Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(directory, f).Replace('\\', '/'), f => RegularFile.ReadAllBytes(f, Path.GetRelativePath(directory, f)), StringComparer.Ordinal), directory);
}
