using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ckpt.Storage;

/// <summary>
/// The one way the Kernel opens a file it reads. Opening a FIFO blocks until someone writes to it, a character
/// device such as /dev/zero never ends, and a socket or a symbolic-link loop fails with an OS error the user cannot
/// act on; so the type is checked first (following legitimate symbolic links, as Hugging Face cache snapshots use)
/// and anything but a regular file is refused with a typed reason, never opened.
/// </summary>
/// <remarks>
/// The check and the open are two system calls, so a file swapped in between is not caught; that race needs a
/// local attacker who can already write into the checkpoint folder, which is outside what a reader defends against.
/// </remarks>
public static class RegularFile
{
    /// <summary>Throws unless <paramref name="path"/> is (or links to) a regular file; <paramref name="shownAs"/> names it in the sentence.</summary>
    public static void Require(string path, string? shownAs = null) => Length(path, shownAs);

    /// <summary>
    /// The length of the file <paramref name="path"/> ends at, after the same check as <see cref="Require"/>.
    /// <c>new FileInfo(link).Length</c> is the length of a symbolic link itself (its target's name), not of its file.
    /// </summary>
    public static long Length(string path, string? shownAs = null)
    {
        var name = shownAs ?? path;
        var (type, length) = Stat(path);
        switch (type)
        {
            case FileType.Regular:
                return length;
            case FileType.Unknown:
                return new FileInfo(path).Length;
            case FileType.Missing:
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, name, null, "the file does not exist");
            case FileType.LinkLoop:
                throw LinkLoop(name);
            case var other:
                throw new CheckpointFormatException(FormatErrorReason.NotARegularFile, name, null,
                    "the path is not a regular file, so it is not opened", expected: "a regular file", found: Describe(other));
        }
    }

    public static SafeFileHandle OpenHandle(string path, string? shownAs = null, FileOptions options = FileOptions.None)
    {
        Require(path, shownAs);
        return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, options);
    }

    public static FileStream OpenRead(string path, string? shownAs = null, int bufferSize = 4096)
    {
        Require(path, shownAs);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize);
    }

    public static byte[] ReadAllBytes(string path, string? shownAs = null)
    {
        Require(path, shownAs);
        return File.ReadAllBytes(path);
    }

    public static string ReadAllText(string path, string? shownAs = null)
    {
        Require(path, shownAs);
        return File.ReadAllText(path);
    }

    public static IEnumerable<string> ReadLines(string path, string? shownAs = null)
    {
        Require(path, shownAs);
        return File.ReadLines(path, Encoding.UTF8);
    }

    /// <summary>Unknown: statx failed for a reason the open itself reports better (permission denied).</summary>
    internal static CheckpointFormatException LinkLoop(string shownAs) =>
        new(FormatErrorReason.SymbolicLinkLoop, shownAs, null, "the path is a loop of symbolic links that never reaches a file");

    enum FileType { Regular, Unknown, Missing, LinkLoop, Directory, Fifo, Socket, CharacterDevice, BlockDevice, Other }

    static string Describe(FileType type) => type switch
    {
        FileType.Directory => "a folder",
        FileType.Fifo => "a named pipe (FIFO)",
        FileType.Socket => "a socket",
        FileType.CharacterDevice => "a character device",
        FileType.BlockDevice => "a block device",
        _ => "a special file",
    };

    static (FileType Type, long Length) Stat(string path)
    {
        if (!OperatingSystem.IsLinux())
            // Elsewhere .NET's own checks are all there is: Windows has no FIFOs in the file namespace.
            return File.Exists(path) ? (FileType.Unknown, 0) : (Directory.Exists(path) ? FileType.Directory : FileType.Missing, 0);
        var buffer = new byte[StatxBytes];
        if (statx(AtCurrentDirectory, path, 0, StatxType | StatxSizeMask, buffer) != 0)
            return (Marshal.GetLastPInvokeError() switch
            {
                ELoop => FileType.LinkLoop,
                ENoEnt or ENotDir => FileType.Missing,
                _ => FileType.Unknown,
            }, 0);
        var type = (BitConverter.ToUInt16(buffer, StatxModeOffset) & TypeMask) switch
        {
            0x8000 => FileType.Regular,
            0x4000 => FileType.Directory,
            0x1000 => FileType.Fifo,
            0xC000 => FileType.Socket,
            0x2000 => FileType.CharacterDevice,
            0x6000 => FileType.BlockDevice,
            _ => FileType.Other,
        };
        return (type, BitConverter.ToInt64(buffer, StatxSizeOffset));
    }

    // statx(2) rather than stat(2): struct statx has one layout on every Linux architecture (stx_mode is the u16 at
    // byte 28 of 256, stx_size the u64 at byte 40), while struct stat differs between x86-64 and arm64.
    const int AtCurrentDirectory = -100;
    const uint StatxType = 0x1, StatxSizeMask = 0x200;
    const int StatxBytes = 256;
    const int StatxModeOffset = 28, StatxSizeOffset = 40;
    const int TypeMask = 0xF000;
    const int ENoEnt = 2, ENotDir = 20, ELoop = 40;

    [DllImport("libc", SetLastError = true)]
    static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
}
