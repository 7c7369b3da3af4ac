using Ckpt.Resilience;

namespace Ckpt.Outputs;

/// <summary>
/// A single-file output (an HTML report, logits, `lcsc_log.json`, a fine-tune adapter). It must not name a
/// folder, lie under a file or overlap an input, and an existing file is replaced only with `--overwrite`.
/// Writes go to a temp file beside it, fsynced, then renamed over it, so a kill leaves the old file or the new one;
/// a temp file a killed run left (`name.tmp-…`) is removed by the next write of the same file.
/// </summary>
public static class OutputFile
{
    /// <summary>The help of `--overwrite` on every verb that writes one file, CLI and magic alike.</summary>
    public const string OverwriteHelp = "replace the output file if it exists";

    /// <summary>Checks <paramref name="path"/> before any work; returns its full, symlink-resolved path.</summary>
    public static string Check(string path, IEnumerable<string?> inputs, bool overwrite)
    {
        var resolved = OutputPaths.Check(path, inputs);
        if (Directory.Exists(resolved))
            throw OutputPaths.Refused(path, "the output names a folder; name a file", "a file", "a folder");
        if (File.Exists(resolved) && !overwrite)
            throw OutputPaths.Refused(path, "the file exists; pass --overwrite to replace it");
        return resolved;
    }

    public static void WriteAllText(string path, string contents) => WriteAllBytes(path, Encoding.UTF8.GetBytes(contents));

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> contents)
    {
        Prepare(path);
        DurableFiles.WriteAtomically(path, contents);
    }

    /// <summary>Creates the folder and removes the temp files a killed write of this same file left.</summary>
    public static void Prepare(string path)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        foreach (var leftover in Directory.EnumerateFiles(folder, Path.GetFileName(full) + ".tmp-*"))
            if (IsTemporaryName(Path.GetFileName(leftover)[(Path.GetFileName(full).Length + 5)..]))
                File.Delete(leftover);
    }

    /// <summary>The random suffix Ckpt's writers give temp files: 8 or 32 lowercase hex digits.</summary>
    static bool IsTemporaryName(string suffix) =>
        suffix.Length is 8 or 32 && suffix.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
