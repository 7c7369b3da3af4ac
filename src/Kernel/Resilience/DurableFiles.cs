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

    /// <summary>
    /// Swaps two folders in one step (Linux renameat2 with RENAME_EXCHANGE, since 3.15), so a reader or a crash sees
    /// the old folder or the new one under the name, never neither. False where the OS or file system cannot.
    /// </summary>
    public static bool TryExchange(string a, string b)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return RenameAt2(AtCurrentDirectory, a, AtCurrentDirectory, b, RenameExchange) == 0; }
        catch (EntryPointNotFoundException) { return false; } // glibc before 2.28, musl before 1.2.2
    }

    const int AtCurrentDirectory = -100;
    const uint RenameExchange = 2;

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirectory, string oldPath, int newDirectory, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
