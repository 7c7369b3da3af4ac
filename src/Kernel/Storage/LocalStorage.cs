using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;

namespace Ckpt.Storage;

/// <summary>
/// A checkpoint folder on a local file system. Every relative path is resolved (symlinks included) and
/// must stay inside the root: an index or metadata file naming `../x` or `/etc/passwd` is refused. One layout
/// is allowed to leave it: a Hugging Face hub cache snapshot (`models--org--name/snapshots/&lt;rev&gt;/`), whose
/// files are links into the same repository's `blobs/` folder, as huggingface_hub writes them.
/// </summary>
public sealed class LocalStorage : ICheckpointStorage, IDisposable
{
    readonly string _root;
    readonly string _realRoot;
    readonly string? _realBlobs;
    readonly ConcurrentDictionary<string, SafeFileHandle> _handles = new(StringComparer.Ordinal);

    public LocalStorage(string root)
    {
        _root = Path.GetFullPath(root);
        _realRoot = RealPath(_root, root);
        _realBlobs = HubCacheBlobs(_realRoot);
    }

    /// <summary>`…/models--org--name/blobs` when <paramref name="realRoot"/> lies in that repository's `snapshots/`.</summary>
    static string? HubCacheBlobs(string realRoot)
    {
        for (var dir = realRoot; Path.GetDirectoryName(dir) is { } parent; dir = parent)
        {
            if (Path.GetFileName(dir) != "snapshots") continue;
            var repo = Path.GetFileName(parent);
            return repo.StartsWith("models--", StringComparison.Ordinal) || repo.StartsWith("datasets--", StringComparison.Ordinal)
                ? RealPath(Path.Combine(parent, "blobs"), "blobs")
                : null;
        }
        return null;
    }

    public string Root => _root;
    public IoStatistics Statistics { get; } = new();

    public bool Exists(string path) => File.Exists(Resolve(path));

    public long Length(string path)
    {
        var full = Resolve(path);
        return RegularFile.Length(full, path); // a FIFO's length is 0, which would read as an empty file
    }

    public IReadOnlyList<string> List(string directory = "") => Entries(directory, Directory.EnumerateFiles);

    public IReadOnlyList<string> Folders(string directory = "") => Entries(directory, Directory.EnumerateDirectories);

    /// <summary>The files or folders directly in <paramref name="directory"/>, relative to the root, in ordinal order.</summary>
    IReadOnlyList<string> Entries(string directory, Func<string, IEnumerable<string>> enumerate)
    {
        var full = directory.Length == 0 ? _root : Resolve(directory);
        if (!Directory.Exists(full)) return [];
        return enumerate(full)
            .Select(f => Path.GetRelativePath(_root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    public void Read(string path, long offset, Span<byte> destination, IoCategory category)
    {
        var handle = _handles.GetOrAdd(path, p => RegularFile.OpenHandle(Resolve(p), p, FileOptions.RandomAccess));
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
        var real = RealPath(full, relative);
        if (!IsInside(real, _realRoot) && !(_realBlobs is not null && IsInside(real, _realBlobs)))
            throw new CheckpointFormatException(FormatErrorReason.PathEscapesCheckpoint, relative, null,
                "the path resolves, through a symbolic link, outside the checkpoint folder");
        return full;
    }

    static bool IsInside(string path, string root) =>
        path == root || path.StartsWith(root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Resolves every symlink along the path (the parts that exist); a loop is refused naming <paramref name="shownAs"/>.</summary>
    static string RealPath(string path, string shownAs)
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
                FileSystemInfo? target;
                try { target = info.ResolveLinkTarget(returnFinalTarget: true); }
                catch (IOException)
                {
                    // .NET reports ELOOP (and its own limit of 40 hops) as a bare IOException.
                    throw RegularFile.LinkLoop(shownAs);
                }
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
