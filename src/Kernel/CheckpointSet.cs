using System.Text.RegularExpressions;
using Ckpt.Formats;

namespace Ckpt;

/// <summary>
/// Several checkpoints of one model side by side, with no index tying them into one: a run's trajectory
/// (`step-0025.safetensors` … `step-0400.safetensors`) or its step sub-folders. The members are the checkpoints
/// directly in the folder (`*.safetensors`, `*.pt`, `*.pth`, `*.bin` files and sub-folders, in name order) that hold
/// the tensor names most of them hold, so an eval batch or a config lying beside them is left out; the files HF
/// Trainer writes beside a model (`optimizer.pt`, `scheduler.pt`, `rng_state.pth`, `training_args.bin`) are never
/// members. A set is never read as one checkpoint: <see cref="Checkpoint.Open(string, CancellationToken)"/> refuses it
/// in one sentence naming the members (<see cref="FormatErrorReason.CheckpointSet"/>); LCSC, `merge` and `inspect`
/// take it whole.
/// </summary>
public sealed partial class CheckpointSet
{
    static readonly string[] FileExtensions = [".safetensors", ".pt", ".pth", ".bin"];

    public string Folder { get; }
    public IReadOnlyList<CheckpointSetMember> Members { get; }
    /// <summary>Files with a checkpoint's extension that are not members (an eval batch, a different model).</summary>
    public IReadOnlyList<string> LeftOut { get; }

    CheckpointSet(string folder, IReadOnlyList<CheckpointSetMember> members, IReadOnlyList<string> leftOut)
    {
        Folder = folder;
        Members = members;
        LeftOut = leftOut;
    }

    /// <summary>"a set of 16 checkpoints (step-0025.safetensors … step-0400.safetensors)".</summary>
    public string Summary
    {
        get
        {
            var names = Members.Select(m => m.Name).ToArray();
            var list = names.Length <= 3 ? string.Join(", ", names) : $"{names[0]} … {names[^1]}";
            return $"a set of {names.Length} checkpoints ({list})";
        }
    }

    /// <summary>The set of checkpoints in <paramref name="path"/>, or null where it is a file or one checkpoint's folder.</summary>
    public static CheckpointSet? TryOpen(string path, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(path)) return null;
        using var storage = new LocalStorage(Path.GetFullPath(path));
        if (!IsSet(storage)) return null;
        var set = Open(path, cancellationToken);
        return set.Members.Count >= 2 ? set : null;
    }

    /// <summary>Every checkpoint directly in <paramref name="folder"/> that belongs to the set (headers only).</summary>
    public static CheckpointSet Open(string folder, CancellationToken cancellationToken = default)
    {
        var candidates = Directory.EnumerateFiles(folder).Where(IsCandidateFile)
            .Concat(Directory.EnumerateDirectories(folder))
            .Order(StringComparer.Ordinal).ToArray();
        var opened = new List<(string Path, string Key, CheckpointSetMember Member)>();
        foreach (var c in candidates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                using var ckpt = Checkpoint.Open(c, cancellationToken);
                var key = string.Join("\n", ckpt.Manifest.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
                opened.Add((c, key, CheckpointSetMember.Of(c, ckpt.Manifest)));
            }
            catch (CheckpointFormatException) { }  // not a checkpoint: a sub-folder of logs, an unrelated file
        }
        if (opened.Count == 0)
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, folder, null, $"the folder {folder} holds no checkpoint");
        // Between equally common groups the larger model wins: an eval batch of token ids is smaller than the model it tests.
        var common = opened.GroupBy(n => n.Key).OrderByDescending(g => g.Count()).ThenByDescending(g => g.First().Member.Parameters).First().Key;
        var members = opened.Where(n => n.Key == common).Select(n => n.Member).ToArray();
        var leftOut = candidates.Select(Path.GetFileName).Except(members.Select(m => m.Name)).Select(n => n!).ToArray();
        return new CheckpointSet(folder, members, leftOut);
    }

    /// <summary>
    /// Whether a folder holds two or more checkpoint files and nothing that makes it one checkpoint (an index,
    /// a DCP `.metadata`, `model.safetensors` or `pytorch_model.bin`). Names only: the probe's cheap test.
    /// </summary>
    internal static bool IsSet(ICheckpointStorage storage)
    {
        var files = storage.List();
        if (files.Contains(".metadata") || files.Contains("model.safetensors") || files.Contains("pytorch_model.bin")
            || files.Any(f => f.EndsWith(".index.json", StringComparison.Ordinal) || f.EndsWith(".distcp", StringComparison.Ordinal)))
            return false;
        return files.Count(IsCandidateFile) >= 2;
    }

    internal static bool IsCandidateFile(string file)
    {
        var name = Path.GetFileName(file);
        return FileExtensions.Contains(Path.GetExtension(name), StringComparer.OrdinalIgnoreCase) && !TrainerStateName().IsMatch(name);
    }

    // What transformers' Trainer saves beside the model in `checkpoint-N/` (trainer.py, _save_optimizer_and_scheduler, _save_rng_state).
    [GeneratedRegex(@"^(optimizer\.(pt|bin)|scheduler\.pt|scaler\.pt|rng_state(_\d+)?\.pth|training_args\.bin)$")]
    private static partial Regex TrainerStateName();

    /// <summary>The one sentence a command that needs one checkpoint says when it is given a set.</summary>
    public CheckpointFormatException NameOne() =>
        new(FormatErrorReason.CheckpointSet, Folder, null, $"this folder is {Summary}: name one");

    /// <summary>
    /// The checkpoints an LCSC search combines, from one piece of text: a folder (its <see cref="Members"/>, or the
    /// folder itself where it is one checkpoint), a comma-separated list of paths, or a glob in the last path segment
    /// (`run/step-*.safetensors`).
    /// </summary>
    /// <param name="last">Keep only the last this many (in name order), as LCSC combines the end of a run.</param>
    public static IReadOnlyList<string> Resolve(string text, int? last = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, null, null, "no checkpoints given: name a folder, a glob or a comma-separated list");
        IReadOnlyList<string> paths;
        if (text.Contains(',')) paths = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        else if (Path.GetFileName(text).IndexOfAny(['*', '?']) >= 0) paths = Glob(text);
        else if (Directory.Exists(text) && !IsCheckpointFolder(text)) paths = Open(text, cancellationToken).Members.Select(m => m.Path).ToArray();
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
}

/// <summary>One checkpoint of a <see cref="CheckpointSet"/>, described from its headers.</summary>
public sealed partial record CheckpointSetMember(string Name, string Path, long? Step, string Format, long Bytes, int TensorCount,
    long Parameters, IReadOnlyDictionary<DType, long> ParametersByDType)
{
    internal static CheckpointSetMember Of(string path, CheckpointManifest m)
    {
        var name = System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(path));
        var step = StepNumber().Match(System.IO.Path.GetFileNameWithoutExtension(name));
        return new(name, path, step.Success ? long.Parse(step.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null,
            m.Format, m.TotalBytes, m.Tensors.Count, m.ParameterCount, m.ParametersByDType);
    }

    // `step-0400`, `checkpoint-1200`, `global_step500`, `epoch_3`, `ckpt_100`: the last run of digits after a separator.
    [GeneratedRegex(@"(?:^|[-_.]|step|epoch)(\d{1,12})$", RegexOptions.IgnoreCase)]
    private static partial Regex StepNumber();
}
