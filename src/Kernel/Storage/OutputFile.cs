using Ckpt.Errors;

namespace Ckpt.Storage;

/// <summary>
/// Checks a single-file output (an HTML report, an adapter) before any work, so a mistyped path is refused in one
/// sentence instead of failing after the work with the OS's error: a folder where the file should be, or a parent
/// that is missing or is a file.
/// </summary>
public static class OutputFile
{
    /// <param name="option">The option that named the path, for the sentence: "--html".</param>
    public static void Require(string path, string option)
    {
        if (Directory.Exists(path))
            throw new ArgumentException($"{option} {path} is a folder; give the name of a file to write");
        var parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent is not null && !Directory.Exists(parent))
            throw new ArgumentException(File.Exists(parent)
                ? $"{option} {path} lies under a file, not a folder"
                : $"{option} {path} is in a folder that does not exist");
    }
}
