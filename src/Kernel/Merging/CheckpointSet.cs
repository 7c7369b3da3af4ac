using Ckpt.Errors;

namespace Ckpt.Merging;

/// <summary>
/// The checkpoints an LCSC search combines, from one piece of text: a folder (every checkpoint directly in it,
/// in name order: `*.safetensors`, `*.pt`, `*.bin` files and sub-folders, keeping those that hold the tensor names
/// most of them hold, so an eval batch or a config lying beside them is left out), a comma-separated list of
/// paths, or a glob in the last path segment (`run/step-*.safetensors`).
/// </summary>
public static class CheckpointSet
{
    static readonly string[] FileExtensions = [".safetensors", ".pt", ".pth", ".bin"];

    /// <param name="last">Keep only the last this many (in name order), as LCSC combines the end of a run.</param>
    public static IReadOnlyList<string> Resolve(string text, int? last = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, null, null, "no checkpoints given: name a folder, a glob or a comma-separated list");
        IReadOnlyList<string> paths;
        if (text.Contains(',')) paths = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        else if (Path.GetFileName(text).IndexOfAny(['*', '?']) >= 0) paths = Glob(text);
        else if (Directory.Exists(text) && !IsCheckpointFolder(text)) paths = Folder(text, cancellationToken);
        else paths = [text];

        foreach (var p in paths)
            if (!File.Exists(p) && !Directory.Exists(p))
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, p, null, $"the checkpoint {p} does not exist");
        if (last is { } n)
        {
            if (n < 1) throw new FormatException($"--last {n} must be at least 1");
            paths = paths.Skip(Math.Max(0, paths.Count - n)).ToArray();
        }
        return paths;
    }

    static IReadOnlyList<string> Glob(string pattern)
    {
        var folder = Path.GetDirectoryName(pattern) is { Length: > 0 } d ? d : ".";
        if (!Directory.Exists(folder))
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, folder, null, $"the folder {folder} does not exist");
        var found = Directory.EnumerateFileSystemEntries(folder, Path.GetFileName(pattern)).Order(StringComparer.Ordinal).ToArray();
        if (found.Length == 0)
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, pattern, null, $"no checkpoint matches {pattern}");
        return found;
    }

    /// <summary>A folder that is itself one checkpoint (HF shards with an index, a DCP `.metadata`, one model file).</summary>
    static bool IsCheckpointFolder(string folder) =>
        File.Exists(Path.Combine(folder, ".metadata")) || Directory.EnumerateFiles(folder, "*.index.json").Any()
        || (File.Exists(Path.Combine(folder, "model.safetensors")) && !Directory.EnumerateFiles(folder, "*.safetensors").Skip(1).Any());

    static IReadOnlyList<string> Folder(string folder, CancellationToken cancellationToken)
    {
        var candidates = Directory.EnumerateFiles(folder).Where(f => FileExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Concat(Directory.EnumerateDirectories(folder))
            .Order(StringComparer.Ordinal).ToArray();
        var names = new List<(string Path, string Key)>();
        foreach (var c in candidates)
        {
            try
            {
                using var ckpt = Checkpoint.Open(c, cancellationToken);
                names.Add((c, string.Join("\n", ckpt.Manifest.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal))));
            }
            catch (CheckpointFormatException) { }  // not a checkpoint: a sub-folder of logs, an unrelated file
        }
        if (names.Count == 0)
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, folder, null, $"the folder {folder} holds no checkpoint");
        var common = names.GroupBy(n => n.Key).OrderByDescending(g => g.Count()).First().Key;
        return names.Where(n => n.Key == common).Select(n => n.Path).ToArray();
    }
}
