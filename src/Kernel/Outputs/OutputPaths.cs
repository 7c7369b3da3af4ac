using System.Runtime.InteropServices;

namespace Ckpt.Outputs;

/// <summary>
/// The checks every output path passes before any byte is read or written: it must not lie under a file,
/// and it must not be, contain or lie inside an input. Paths are compared after resolving the symlinks of
/// their existing ancestors, so `--out link/..` cannot reach an input by another name.
/// </summary>
internal static partial class OutputPaths
{
    /// <summary>The full, symlink-resolved path of <paramref name="output"/>; refuses one that lies under a file or overlaps an input.</summary>
    public static string Check(string output, IEnumerable<string?> inputs)
    {
        if (string.IsNullOrWhiteSpace(output))
            throw Refused(output, "the output path is empty");
        var resolved = Resolve(output);
        for (var parent = Path.GetDirectoryName(resolved); parent is not null; parent = Path.GetDirectoryName(parent))
            if (File.Exists(parent))
                throw Refused(output, $"the output lies under the file {parent}", "a folder", "a file");
        foreach (var input in inputs)
        {
            if (string.IsNullOrWhiteSpace(input)) continue;
            var other = Resolve(input);
            if (Same(resolved, other))
                throw Refused(output, $"the output is the input {input}; write to another folder");
            if (Inside(resolved, other))
                throw Refused(output, $"the output lies inside the input {input}; write to another folder");
            if (Inside(other, resolved))
                throw Refused(output, $"the output contains the input {input}; write to another folder");
        }
        return resolved;
    }

    public static CheckpointFormatException Refused(string path, string detail, string? expected = null, string? found = null) =>
        new(FormatErrorReason.OutputRefused, path, null, detail, expected, found);

    /// <summary>The full path with the symlinks of its longest existing ancestor resolved (realpath(3)); missing components are kept as written.</summary>
    public static string Resolve(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var missing = new Stack<string>();
        var existing = full;
        while (!Path.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            missing.Push(Path.GetFileName(existing));
            existing = parent;
        }
        var real = RealPath(existing) ?? existing;
        while (missing.Count > 0) real = Path.Combine(real, missing.Pop());
        return real;
    }

    static bool Same(string a, string b) => string.Equals(a, b, Comparison);

    static bool Inside(string path, string folder) =>
        path.StartsWith(Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar, Comparison);

    static StringComparison Comparison => OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;

    static string? RealPath(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        var buffer = RealPathNative(path, IntPtr.Zero);
        if (buffer == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(buffer); }
        finally { Free(buffer); }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPathNative(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);
}
