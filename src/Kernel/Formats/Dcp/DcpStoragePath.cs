using System.Text.RegularExpressions;

namespace Ckpt.Formats.Dcp;

/// <summary>
/// `_StorageInfo.relative_path` resolved against the DCP folder. The path comes from a pickle, so it is
/// refused when absolute or when any part is `..`, whatever the storage would make of it.
/// </summary>
internal static partial class DcpStoragePath
{
    public static string Resolve(string metadataFile, string folder, string fqn, string relative)
    {
        bool escapes = relative.Length == 0 || relative.Contains('\0') || relative.StartsWith('/') || relative.StartsWith('\\')
            || Path.IsPathRooted(relative) || (relative.Length >= 2 && relative[1] == ':')
            || relative.Split('/', '\\').Any(p => p == "..");
        if (escapes)
            throw ReferencedPath.Escapes(metadataFile, fqn, "relative_path", relative);
        var clean = relative.Replace('\\', '/');
        while (clean.StartsWith("./", StringComparison.Ordinal)) clean = clean[2..];
        return folder.Length == 0 ? clean : folder + "/" + clean;
    }

    /// <summary>The writer rank of a FileSystemWriter data file `__{rank}_{k}.distcp`, else null.</summary>
    public static int? WriterRank(string relativePath)
    {
        var m = DataFileName().Match(Path.GetFileName(relativePath));
        return m.Success && int.TryParse(m.Groups[1].ValueSpan, out var r) ? r : null;
    }

    [GeneratedRegex(@"^__(\d+)_(\d+)\.distcp$")]
    private static partial Regex DataFileName();
}
