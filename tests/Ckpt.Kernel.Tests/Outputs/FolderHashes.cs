using System.Security.Cryptography;

namespace Ckpt.Tests.Outputs;

/// <summary>Every file under a folder (or one file) with its SHA-256: equal before and after means nothing changed.</summary>
static class FolderHashes
{
    public static SortedDictionary<string, string> Of(string path)
    {
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (File.Exists(path)) hashes[""] = Hash(path);
        else if (Directory.Exists(path))
            foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
                hashes[Path.GetRelativePath(path, file)] = Hash(file);
        return hashes;
    }

    static string Hash(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    /// <summary>Staging folders beside <paramref name="output"/>: a finished or refused run leaves none.</summary>
    public static string[] StagingBeside(string output) =>
        Directory.EnumerateDirectories(Path.GetDirectoryName(Path.GetFullPath(output))!, $".{Path.GetFileName(output)}.ckpt-staging-*").ToArray();
}
