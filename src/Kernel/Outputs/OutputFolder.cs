using Ckpt.Resilience;

namespace Ckpt.Outputs;

/// <summary>
/// The folder a writing verb (convert, reshard, merge, lcsc, bench generate) produces. Before any byte is read
/// it refuses an `--out` that is a file, lies under one, overlaps an input, or is not empty (unless
/// `--overwrite`, and then only when Ckpt's marker lists every entry). The verb writes into <see cref="Staging"/>,
/// a hidden sibling; <see cref="Commit"/> moves it into place in one rename (an exchange when replacing), so a
/// process killed at any moment leaves the old folder or the complete new one. The next run to the same `--out`
/// removes staging siblings a killed run left; nothing without Ckpt's marker is ever deleted.
/// </summary>
public sealed class OutputFolder : IDisposable
{
    /// <summary>The help of `--overwrite` on every verb that writes a folder, CLI and magic alike.</summary>
    public const string OverwriteHelp = "replace an output folder Ckpt wrote before; a folder holding any file Ckpt did not write is still refused";

    const string StagingInfix = ".ckpt-staging-";
    const string SetAsideSuffix = "-old";
    readonly bool _overwrite;
    readonly RemoteOutput? _remote;
    bool _committed;

    OutputFolder(string target, string staging, bool overwrite, RemoteOutput? remote = null)
    {
        _remote = remote;
        Target = target;
        Staging = staging;
        _overwrite = overwrite;
    }

    /// <summary>The output folder, full and symlink-resolved.</summary>
    public string Target { get; }

    /// <summary>Where the verb writes; it becomes <see cref="Target"/> on <see cref="Commit"/>.</summary>
    public string Staging { get; }

    /// <summary>Checks <paramref name="output"/> (see the class summary) without creating anything; returns its resolved path.</summary>
    public static string Check(string output, IEnumerable<string?> inputs, bool overwrite)
    {
        if (RemoteOutput.Is(output))
        {
            RemoteOutput.Check(output, inputs, overwrite);
            return output;
        }
        var target = OutputPaths.Check(output, inputs);
        if (File.Exists(target))
            throw OutputPaths.Refused(output, "the output names a file; name a folder", "a folder", "a file");
        if (!Directory.Exists(target) || !Directory.EnumerateFileSystemEntries(target).Any()) return target;
        if (!overwrite)
            throw OutputPaths.Refused(output, "the output folder is not empty; pass --overwrite to replace an output Ckpt wrote",
                "an empty or new folder", Show(Directory.EnumerateFileSystemEntries(target).Select(e => Path.GetFileName(e)!).Order(StringComparer.Ordinal).ToArray()));
        var foreign = OutputMarker.Foreign(target);
        if (foreign.Count > 0)
            throw OutputPaths.Refused(output, "--overwrite replaces only an output Ckpt wrote, and this folder holds files it did not write",
                "only files listed in " + OutputMarker.FileName, Show(foreign));
        return target;
    }

    /// <summary>Checks the output, removes a killed run's leftovers and creates the staging folder.</summary>
    public static OutputFolder Begin(string output, IEnumerable<string?> inputs, bool overwrite)
    {
        if (RemoteOutput.Is(output))
        {
            // Object stores have no rename: the output is staged on local disk and uploaded index-last on Commit.
            var remote = RemoteOutput.Check(output, inputs, overwrite);
            var local = Path.Combine(Path.GetTempPath(), $".ckpt-remote{StagingInfix}{Guid.NewGuid().ToString("N")[..12]}");
            Directory.CreateDirectory(local);
            return new OutputFolder(ObjectUrl.Parse(output).ToString(), local, overwrite, remote);
        }
        var target = Check(output, inputs, overwrite);
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        RemoveLeftovers(target);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}{StagingInfix}{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(staging);
        // Marked from the start, so a run killed before Commit leaves a folder the next run knows it may delete.
        OutputMarker.WriteStaging(staging);
        return new OutputFolder(target, staging, overwrite);
    }

    /// <summary>Whether <paramref name="path"/> is a staging folder of some output (never read as a checkpoint).</summary>
    public static bool IsStaging(string path) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(path)) is { } name && name.StartsWith('.') && name.Contains(StagingInfix, StringComparison.Ordinal);

    /// <summary>Where a file written at <paramref name="stagedPath"/> lies once committed.</summary>
    public string Final(string stagedPath) => _remote is null ? Path.Combine(Target, Path.GetRelativePath(Staging, stagedPath))
        : $"{Target}/{Path.GetRelativePath(Staging, stagedPath).Replace('\\', '/')}";

    /// <summary>Lists what was written in the marker, makes it durable and moves it into place.</summary>
    public void Commit()
    {
        if (_committed) throw new InvalidOperationException("the output is already committed");
        if (_remote is not null)
        {
            _remote.Commit(Staging, _overwrite);
            _committed = true;
            try { Directory.Delete(Staging, recursive: true); } catch (IOException) { }
            return;
        }
        OutputMarker.Write(Staging, Directory.EnumerateFileSystemEntries(Staging).Select(e => Path.GetFileName(e)!));
        DurableFiles.SyncDirectory(Staging);
        var parent = Path.GetDirectoryName(Target)!;
        if (Directory.Exists(Target))
        {
            // The user may have put files there while we wrote: check again right before replacing.
            Check(Target, [], _overwrite);
            if (!DurableFiles.TryExchange(Staging, Target))
            {
                // No atomic exchange here: set the old output aside under a staging name (still marked, so a run killed
                // between the two renames leaves it for the next run to remove), then move the new one in.
                var aside = Staging + SetAsideSuffix;
                Directory.Move(Target, aside);
                Directory.Move(Staging, Target);
                Directory.Move(aside, Staging);
            }
            _committed = true;
            DurableFiles.SyncDirectory(parent);
            Directory.Delete(Staging, recursive: true); // now the replaced output, every entry Ckpt's
        }
        else
        {
            Directory.Move(Staging, Target);
            _committed = true;
            DurableFiles.SyncDirectory(parent);
        }
    }

    /// <summary>An output abandoned by an exception or cancellation: its staging folder goes, the target is untouched.</summary>
    public void Dispose()
    {
        if (_committed || !Directory.Exists(Staging)) return;
        try { Directory.Delete(Staging, recursive: true); }
        catch (IOException) { } // the next run to this output removes it
        catch (UnauthorizedAccessException) { }
    }

    static void RemoveLeftovers(string target)
    {
        var parent = Path.GetDirectoryName(target)!;
        foreach (var dir in Directory.GetDirectories(parent, $".{Path.GetFileName(target)}{StagingInfix}*"))
        {
            if (new DirectoryInfo(dir).LinkTarget is not null) continue;
            // Where there is no atomic exchange, a run killed between its two renames leaves the output it was
            // replacing set aside and no output: put that back first, so the user sees the old state.
            if (dir.EndsWith(SetAsideSuffix, StringComparison.Ordinal) && !Path.Exists(target)
                && !OutputMarker.IsStaging(dir) && OutputMarker.Read(dir) is not null && OutputMarker.Foreign(dir).Count == 0)
            {
                Directory.Move(dir, target);
                continue;
            }
            if (!OutputMarker.IsStaging(dir) && !Unmarked(dir) && (OutputMarker.Read(dir) is null || OutputMarker.Foreign(dir).Count > 0)) continue;
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>A staging folder killed before its marker was in place: empty, or holding only the marker's temp file.</summary>
    static bool Unmarked(string dir) =>
        Directory.EnumerateFileSystemEntries(dir).All(e => Path.GetFileName(e).StartsWith(OutputMarker.FileName + ".tmp-", StringComparison.Ordinal));

    internal static string Show(IReadOnlyList<string> names)
    {
        // Control characters in names are escaped where the refusal's sentence is built (CheckpointFormatException).
        var shown = string.Join(", ", names.Take(3));
        return names.Count > 3 ? $"{shown} and {names.Count - 3} more" : shown;
    }
}
