namespace Ckpt.Outputs;

/// <summary>
/// A fine-tune's `--out`: unlike a converted checkpoint it is written in place over a long run (resumable state
/// under `checkpoints/`, committed step by step, and the adapter at its root, each file through temp + rename), so
/// it is not staged. What keeps it safe: Ckpt's marker lists the run's entries from the start; `--resume` continues
/// only a folder whose every entry the marker lists; a non-empty folder without `--resume` is refused unless
/// `--overwrite`, which removes the old run's entries (all Ckpt's) and nothing else; a folder holding any other
/// file is always refused. Temp files a killed run left beside a listed entry are removed when the next run opens it.
/// </summary>
public static class RunFolder
{
    /// <summary>The help of `--overwrite` on `finetune`, CLI and magic alike.</summary>
    public const string OverwriteHelp = "start over in an output folder holding an earlier run Ckpt wrote (its adapter and checkpoints are removed); a folder holding any other file is still refused";

    /// <summary>Checks <paramref name="output"/> without changing anything; returns its resolved path.</summary>
    public static string Check(string output, IEnumerable<string?> inputs, bool resume, bool overwrite)
    {
        var folder = OutputPaths.Check(output, inputs);
        if (File.Exists(folder))
            throw OutputPaths.Refused(output, "the output names a file; name a folder", "a folder", "a file");
        if (!Directory.Exists(folder) || !Directory.EnumerateFileSystemEntries(folder).Any()) return folder;
        var foreign = OutputMarker.Foreign(folder);
        if (foreign.Count == 0 && (resume || overwrite)) return folder;
        if (resume)
            throw OutputPaths.Refused(output, "--resume continues only a run folder Ckpt wrote, and this folder holds files it did not write",
                "only files listed in " + OutputMarker.FileName, OutputFolder.Show(foreign));
        // Same sentences as a staged output, so every verb refuses a user's folder the same way.
        return OutputFolder.Check(output, inputs, overwrite);
    }

    /// <summary>Checks again, then prepares the folder for a run writing <paramref name="entries"/>: returns its resolved path.</summary>
    public static string Open(string output, IEnumerable<string?> inputs, bool resume, bool overwrite, IReadOnlyCollection<string> entries)
    {
        var folder = Check(output, inputs, resume, overwrite);
        Directory.CreateDirectory(folder);
        var listed = OutputMarker.Read(folder) ?? new HashSet<string>();
        foreach (var name in Directory.EnumerateFileSystemEntries(folder).Select(e => Path.GetFileName(e)!).ToArray())
        {
            if (name == OutputMarker.FileName) continue;
            var path = Path.Combine(folder, name);
            bool leftover = OutputMarker.IsTemporaryOf(name, listed);
            if (!leftover && (resume || !listed.Contains(name))) continue;
            // A killed write's temp file, or (with --overwrite, no --resume) the previous run's own entry.
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
        OutputMarker.Write(folder, entries.Union(resume ? listed : []));
        return folder;
    }
}
