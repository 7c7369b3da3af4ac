using System.IO.Hashing;
using System.Text.RegularExpressions;
using Ckpt.Monitoring;

namespace Ckpt.Resilience;

/// <summary>
/// A folder of training checkpoints, one sub-folder `step-N` per committed step, plus a `latest` tracker.
/// A commit writes into `step-N.tmp-&lt;guid&gt;/`, fsyncs every file, writes and fsyncs `manifest.json`
/// (sizes and XxHash3 digests), fsyncs the folder, renames it to `step-N`, fsyncs the parent, and only then
/// replaces `latest` atomically. A crash at any point leaves either a complete `step-N` or a folder whose
/// name is not `step-N`, so resuming never picks a torn checkpoint. Loading verifies every digest.
/// </summary>
public sealed partial class CheckpointDirectory
{
    public const string TrackerFile = "latest";
    const int VerifyChunk = 1 << 20;

    public CheckpointDirectory(string root)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>How many complete steps to keep after each commit; null keeps all.</summary>
    public int? KeepLast { get; init; }

    [GeneratedRegex(@"^step-(\d+)$")]
    private static partial Regex StepName();

    public static string StepFolder(long step) => $"step-{step}";

    /// <summary>Committed steps (a `step-N` folder with a manifest whose own checksum holds), oldest first. Digests are not checked here.</summary>
    public IReadOnlyList<CommittedCheckpoint> Complete()
    {
        var found = new List<CommittedCheckpoint>();
        foreach (var dir in Directory.EnumerateDirectories(Root))
        {
            var m = StepName().Match(Path.GetFileName(dir));
            if (!m.Success || !long.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var step)) continue;
            try
            {
                var manifest = StepManifest.Read(Path.Combine(dir, StepManifest.FileName));
                if (manifest.Step == step) found.Add(new CommittedCheckpoint(step, dir, manifest));
            }
            catch (Exception e) when (e is CheckpointFormatException or IOException) { } // torn, or pruned while we looked
        }
        return found.OrderBy(c => c.Step).ToArray();
    }

    /// <summary>The newest committed step, or null when there is none.</summary>
    public CommittedCheckpoint? Newest() => Complete().LastOrDefault();

    /// <summary>The step the tracker names, or null; the newest complete step may be newer if a crash came between rename and tracker.</summary>
    public long? TrackedStep()
    {
        var path = Path.Combine(Root, TrackerFile);
        return File.Exists(path) && long.TryParse(RegularFile.ReadAllText(path, TrackerFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
    }

    /// <summary>Checks every file's size and digest; throws <see cref="CheckpointFormatException"/> naming the first bad file.</summary>
    public static void Verify(CommittedCheckpoint checkpoint)
    {
        var buffer = new byte[VerifyChunk];
        foreach (var f in checkpoint.Manifest.Files)
        {
            var path = Path.Combine(checkpoint.Path, f.Name);
            var name = $"{Path.GetFileName(checkpoint.Path)}/{f.Name}";
            if (!File.Exists(path))
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, name, null, "a file listed in the manifest is missing");
            using var fs = RegularFile.OpenRead(path, name, bufferSize: 0);
            if (fs.Length < f.Bytes)
                throw new CheckpointFormatException(FormatErrorReason.Truncated, name, null, "the file is shorter than the manifest records",
                    $"{f.Bytes} bytes", $"{fs.Length} bytes");
            if (fs.Length > f.Bytes)
                throw new CheckpointFormatException(FormatErrorReason.ByteLengthMismatch, name, null, "the file is longer than the manifest records",
                    $"{f.Bytes} bytes", $"{fs.Length} bytes");
            var hash = new XxHash3();
            int n;
            while ((n = fs.Read(buffer)) > 0) hash.Append(buffer.AsSpan(0, n));
            var digest = hash.GetCurrentHashAsUInt64().ToString("x16");
            if (digest != f.XxHash3)
                throw new CheckpointFormatException(FormatErrorReason.ChecksumMismatch, name, null, "the file's contents do not match the manifest checksum",
                    f.XxHash3, digest);
        }
    }

    /// <summary>Verifies a committed step and opens it for reading tensors.</summary>
    public static Checkpoint Open(CommittedCheckpoint checkpoint)
    {
        Verify(checkpoint);
        return Checkpoint.Open(checkpoint.Path);
    }

    /// <summary>
    /// Loads the newest committed step into the live state (verifying every checksum first) and returns its
    /// step, or null when nothing was committed yet. Every state tensor must be in the checkpoint with the
    /// same dtype and shape.
    /// </summary>
    public long? Resume(IReadOnlyList<StateTensor> state)
    {
        if (Newest() is not { } newest) return null;
        using var checkpoint = Open(newest);
        var file = $"{StepFolder(newest.Step)}/{SafetensorsSnapshotWriter.FileName}";
        foreach (var s in state)
        {
            using var data = checkpoint.Read(s.Name);
            if (data.DType != s.DType || !data.Shape.SequenceEqual(s.Shape))
                throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, s.Name, "the saved tensor does not fit the live one",
                    $"{s.DType} [{string.Join(",", s.Shape)}]", $"{data.DType} [{string.Join(",", data.Shape)}]");
            s.Restore(data.Bytes);
        }
        return newest.Step;
    }

    /// <summary>Writes, syncs and commits one step; see the class summary for the order of operations.</summary>
    public CommittedCheckpoint Commit(Snapshot snapshot, ISnapshotWriter? writer = null, OperationTimeline? timeline = null)
    {
        timeline ??= new OperationTimeline($"save step {snapshot.Step}");
        writer ??= new SafetensorsSnapshotWriter();
        var final = Path.Combine(Root, StepFolder(snapshot.Step));
        var tmp = $"{final}.tmp-{Guid.NewGuid():N}";
        Directory.CreateDirectory(tmp);
        var sink = new FolderSink(tmp);
        try
        {
            writer.Write(snapshot, sink, timeline);

            var start = timeline.Now;
            foreach (var f in sink.Files) f.Close(sync: true);
            var manifest = new StepManifest(snapshot.Step, DateTimeOffset.UtcNow,
                sink.Files.Select(f => new ManifestFile(f.Name, f.Written, f.Digest)).ToArray(), snapshot.Metadata);
            var manifestBytes = manifest.ToBytes();
            using (var fs = new FileStream(Path.Combine(tmp, StepManifest.FileName), FileMode.CreateNew, FileAccess.Write))
            {
                fs.Write(manifestBytes);
                fs.Flush(flushToDisk: true);
            }
            DurableFiles.SyncDirectory(tmp);
            timeline.Record("fsync", StepFolder(snapshot.Step), start, manifest.ByteCount + manifestBytes.Length);

            start = timeline.Now;
            if (Directory.Exists(final)) Discard(final); // re-saving a step after resuming from an older one
            Directory.Move(tmp, final);
            DurableFiles.SyncDirectory(Root);
            DurableFiles.WriteAtomically(Path.Combine(Root, TrackerFile),
                Encoding.ASCII.GetBytes(snapshot.Step.ToString(CultureInfo.InvariantCulture) + "\n"));
            if (KeepLast is int keep) Prune(keep);
            timeline.Record("commit", StepFolder(snapshot.Step), start, manifestBytes.Length);
            return new CommittedCheckpoint(snapshot.Step, final, manifest);
        }
        catch
        {
            foreach (var f in sink.Files) f.Close(sync: false);
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> complete steps.</summary>
    public void Prune(int keep)
    {
        foreach (var old in Complete().SkipLast(Math.Max(keep, 1))) Discard(old.Path);
    }

    /// <summary>Removes folders left by interrupted commits or deletions. Only call when no commit is running.</summary>
    public void RemoveAbandoned()
    {
        foreach (var dir in Directory.EnumerateDirectories(Root))
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith("step-", StringComparison.Ordinal) && (name.Contains(".tmp-") || name.Contains(".deleting-")))
                Directory.Delete(dir, recursive: true);
        }
        foreach (var file in Directory.EnumerateFiles(Root, TrackerFile + ".tmp-*")) File.Delete(file);
    }

    // Renamed first so that a crash half-way through a delete never leaves a `step-N` with missing files.
    static void Discard(string stepFolder)
    {
        var doomed = $"{stepFolder}.deleting-{Guid.NewGuid():N}";
        Directory.Move(stepFolder, doomed);
        Directory.Delete(doomed, recursive: true);
    }

    sealed class FolderSink(string folder) : ISnapshotSink
    {
        public List<ChecksummingFile> Files { get; } = [];

        public Stream Create(string fileName)
        {
            if (fileName != Path.GetFileName(fileName) || fileName is StepManifest.FileName or "" or "." or "..")
                throw new ArgumentException($"'{fileName}' is not a plain file name a snapshot may use", nameof(fileName));
            var file = new ChecksummingFile(Path.Combine(folder, fileName));
            Files.Add(file);
            return file;
        }
    }
}

/// <summary>A committed step folder and its manifest.</summary>
public sealed record CommittedCheckpoint(long Step, string Path, StepManifest Manifest);
