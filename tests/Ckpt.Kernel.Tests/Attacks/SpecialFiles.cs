using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ckpt.Tests.Attacks;

/// <summary>
/// Makes the special files a hostile checkpoint folder can hold. They are created at test time: git cannot store a
/// FIFO or a socket, and a committed symlink loop would trip every tool that walks the repository.
/// </summary>
static class SpecialFiles
{
    public static string Fifo(string path)
    {
        File.Delete(path);
        if (mkfifo(path, 0b110_100_100) != 0) throw new IOException($"mkfifo {path} failed: errno {Marshal.GetLastPInvokeError()}");
        return path;
    }

    /// <summary>A listening Unix socket at <paramref name="path"/>; it stays bound while the returned socket lives.</summary>
    public static Socket Socket(string path)
    {
        File.Delete(path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary><paramref name="path"/> links to a sibling that links back to it.</summary>
    public static string LinkLoop(string path)
    {
        var other = path + ".other";
        File.Delete(path);
        File.Delete(other);
        File.CreateSymbolicLink(path, Path.GetFileName(other));
        File.CreateSymbolicLink(other, Path.GetFileName(path));
        return path;
    }

    /// <summary>A copy of a fixture folder to put special files into.</summary>
    public static string CopyOf(string fixture)
    {
        var source = TestPaths.Fixture(fixture);
        var dir = TestPaths.TempDirectory("special-" + fixture);
        foreach (var f in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir, Path.GetRelativePath(source, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        return dir;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}
