using System.Runtime.InteropServices;

namespace Ckpt.Resilience;

/// <summary>
/// The POSIX steps that make a rename durable: fsync the file, rename it, then fsync the folder that
/// holds the name (ext4/xfs only persist a new directory entry when the directory itself is synced).
/// .NET has no API to fsync a directory, hence open(2)/fsync(2) directly; Windows has no equivalent and
/// relies on NTFS's own journaling of renames.
/// </summary>
internal static partial class DurableFiles
{
    public static void SyncDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = Open(path, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"cannot open folder {path} to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of folder {path} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally { Close(fd); }
    }

    /// <summary>Replaces <paramref name="path"/> with <paramref name="contents"/> so that readers see the old or the new file, never a mix.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> contents)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var tmp = Path.Combine(dir, $"{Path.GetFileName(path)}.tmp-{Guid.NewGuid():N}");
        using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            fs.Write(contents);
            fs.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
        SyncDirectory(dir);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
