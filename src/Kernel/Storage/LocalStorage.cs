using System.Collections.Concurrent;
using Ckpt.Errors;
using Microsoft.Win32.SafeHandles;

namespace Ckpt.Storage;

/// <summary>
/// A checkpoint folder on a local file system. Every relative path is resolved (symlinks included) and
/// must stay inside the root: an index or metadata file naming `../x` or `/etc/passwd` is refused.
/// </summary>
public sealed class LocalStorage : ICheckpointStorage, IDisposable
{
    readonly string _root;
    readonly string _realRoot;
    readonly ConcurrentDictionary<string, SafeFileHandle> _handles = new(StringComparer.Ordinal);

    public LocalStorage(string root)
    {
        _root = Path.GetFullPath(root);
        _realRoot = RealPath(_root);
    }

    public string Root => _root;
    public IoStatistics Statistics { get; } = new();

    public bool Exists(string path) => File.Exists(Resolve(path));

    public long Length(string path)
    {
        var full = Resolve(path);
        if (!File.Exists(full))
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, path, null, "the file does not exist");
        return new FileInfo(full).Length;
    }

    public IReadOnlyList<string> List(string directory = "")
    {
        var full = directory.Length == 0 ? _root : Resolve(directory);
        if (!Directory.Exists(full)) return [];
        return Directory.EnumerateFiles(full)
            .Select(f => Path.GetRelativePath(_root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    public void Read(string path, long offset, Span<byte> destination, IoCategory category)
    {
        var handle = _handles.GetOrAdd(path, p =>
        {
            var full = Resolve(p);
            if (!File.Exists(full))
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, p, null, "the file does not exist");
            return File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        });
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(handle, destination[done..], offset + done);
            if (n == 0)
                throw new CheckpointFormatException(FormatErrorReason.Truncated, path, null,
                    $"the file ends before byte {offset + destination.Length}",
                    expected: $"{offset + destination.Length} bytes", found: $"{offset + done} bytes");
            done += n;
        }
        Statistics.Record(category, destination.Length);
    }

    /// <summary>The absolute path of <paramref name="relative"/>, after checking it cannot escape the root.</summary>
    /// <remarks>The refusal names the relative path only: error sentences never carry this machine's folders.</remarks>
    public string Resolve(string relative)
    {
        if (relative.Length == 0) return _root;
        if (Path.IsPathRooted(relative) || relative.Contains('\0') || relative.Split('/', '\\').Contains(".."))
            throw new CheckpointFormatException(FormatErrorReason.PathEscapesCheckpoint, relative, null,
                "the path leaves the checkpoint folder");
        var full = Path.GetFullPath(Path.Combine(_root, relative));
        var real = RealPath(full);
        if (!IsInside(real, _realRoot))
            throw new CheckpointFormatException(FormatErrorReason.PathEscapesCheckpoint, relative, null,
                "the path resolves, through a symbolic link, outside the checkpoint folder");
        return full;
    }

    static bool IsInside(string path, string root) =>
        path == root || path.StartsWith(root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Resolves every symlink along the path (the parts that exist).</summary>
    static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var parts = full.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var current = Path.GetPathRoot(full) ?? "/";
        for (int i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is not null)
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                next = target is null ? next : Path.GetFullPath(target.FullName);
            }
            else if (!info.Exists)
            {
                return Path.Combine([next, .. parts[(i + 1)..]]);
            }
            current = next;
        }
        return current;
    }

    public void Dispose()
    {
        foreach (var h in _handles.Values) h.Dispose();
        _handles.Clear();
    }
}
