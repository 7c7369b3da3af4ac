using System.Text.Json.Nodes;
using Ckpt.Resilience;

namespace Ckpt.Outputs;

/// <summary>
/// One part of an output written by N processes (`--rank r --ranks N`), and the commit of the whole once every part
/// exists (`ckpt finalize`). Parts land in a parts area that no reader accepts as a checkpoint, each under its own name,
/// so N processes never write the same file and a re-run of one rank replaces only its own part:
/// <list type="bullet">
/// <item>Local `--out dir`: the hidden sibling `.dir.ckpt-parts/`, one folder per part (`part-00001-of-00004/`, the data
/// files and `part.json`), written as `part-….tmp-…` and renamed into place when complete. <see cref="Finalize"/> checks
/// `dir` as any output (<see cref="OutputFolder"/>), moves every part's files into its staging folder (renames on one
/// file system), writes the index there and commits it in one rename; then the parts area goes.</item>
/// <item>`--out s3://…` or `az://…` (no rename in object stores): the data objects go to their final keys, which is
/// safe because each part writes different keys and no part writes an index object (`.metadata`, `*.index.json`), which
/// every reader requires; the part's record (`.ckpt-parts/part-00001-of-00004.json`) is uploaded first, listing what it
/// is about to write (so the other parts and finalize know those objects are Ckpt's), and again when complete.
/// <see cref="Finalize"/> uploads the marker, the index objects last, and deletes the records and anything stale.</item>
/// </list>
/// A part of another run (another source, layout or N; <see cref="PartRecord.Job"/>) is refused unless `--overwrite`,
/// and then only the part of the same name is replaced; finalize commits the run of the newest part and discards the rest.
/// </summary>
public sealed class OutputParts : IDisposable
{
    public const string RecordFileName = "part.json";
    const string AreaSuffix = ".ckpt-parts";
    internal const string RemoteFolder = ".ckpt-parts";

    readonly string _output;
    readonly string _area;
    readonly ObjectUrl? _remote;
    readonly string _verb;
    readonly IReadOnlyList<string> _inputs;
    readonly int _part, _parts;
    readonly JsonObject _index;
    bool _committed;

    OutputParts(string output, string area, ObjectUrl? remote, string staging, string verb, IReadOnlyList<string> inputs, int part, int parts,
        JsonObject index, string job)
    {
        (_output, _area, _remote, Staging, _verb, _inputs, _part, _parts, _index, Job) = (output, area, remote, staging, verb, inputs, part, parts, index, job);
    }

    /// <summary>Where this part's files are written before <see cref="Commit"/>.</summary>
    public string Staging { get; }

    public string Job { get; }

    /// <summary>The parts area of <paramref name="output"/>: a local folder, or the URL of the records' prefix.</summary>
    public static string AreaOf(string output) => RemoteOutput.Is(output)
        ? ObjectUrl.Parse(output).Child(RemoteFolder).ToString()
        : Path.Combine(Path.GetDirectoryName(OutputPaths.Resolve(output))!, $".{Path.GetFileName(OutputPaths.Resolve(output))}{AreaSuffix}");

    /// <summary>Whether <paramref name="path"/> is a local parts area (never read as a checkpoint).</summary>
    public static bool IsArea(string path) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(path)) is { } name && name.StartsWith('.') && name.EndsWith(AreaSuffix, StringComparison.Ordinal);

    /// <summary>
    /// Checks the output for part <paramref name="part"/> of <paramref name="parts"/> before any work (the output itself as
    /// any output, and that the parts area holds no part of another run unless <paramref name="overwrite"/>), and opens its staging.
    /// </summary>
    /// <param name="index">The whole output's index description, the same in every part of the run.</param>
    public static OutputParts Begin(string output, IReadOnlyList<string> inputs, bool overwrite, string verb, int part, int parts,
        JsonObject index)
    {
        var job = PartRecord.JobOf(verb, inputs, parts, index);
        var name = PartRecord.Name(part, parts);
        if (RemoteOutput.Is(output))
        {
            var url = ObjectUrl.Parse(output);
            RemoteOutput.CheckParts(output, inputs, overwrite, job);
            var local = Path.Combine(Path.GetTempPath(), $".ckpt-remote{AreaSuffix}-{Guid.NewGuid().ToString("N")[..12]}");
            Directory.CreateDirectory(local);
            return new OutputParts(url.ToString(), url.Child(RemoteFolder).ToString(), url, local, verb, inputs, part, parts, index, job);
        }
        var target = OutputFolder.Check(output, inputs, overwrite);
        var area = AreaOf(target);
        Directory.CreateDirectory(area);
        var other = LocalRecords(area).FirstOrDefault(r => r.Record.Job != job);
        if (other.Record is not null && !overwrite)
            throw OtherRun(output, other.Record);
        foreach (var leftover in Directory.GetDirectories(area, name + ".tmp-*"))
            try { Directory.Delete(leftover, recursive: true); } catch (IOException) { }
        var staging = Path.Combine(area, $"{name}.tmp-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(staging);
        return new OutputParts(target, area, null, staging, verb, inputs, part, parts, index, job);
    }

    internal static CheckpointFormatException OtherRun(string output, PartRecord record) =>
        OutputPaths.Refused(output, $"the parts area holds {record.Name()} of another run ({record.Verb} of {string.Join(", ", record.Inputs)}); " +
            "pass --overwrite to replace it, or finalize that run first");

    /// <summary>
    /// Records this part as complete: <paramref name="files"/> are the names (relative to <see cref="Staging"/>) it wrote,
    /// <paramref name="stored"/> its share of the index. Returns where the files are now.
    /// </summary>
    public IReadOnlyList<string> Commit(IReadOnlyList<string> files, JsonArray stored)
    {
        if (_committed) throw new InvalidOperationException("the part is already committed");
        var lengths = files.ToDictionary(f => f, f => new FileInfo(Path.Combine(Staging, f)).Length, StringComparer.Ordinal);
        var record = new PartRecord(Job, _verb, _part, _parts, _inputs, lengths, _index, stored, Complete: true, DateTimeOffset.UtcNow);
        var name = record.Name();
        if (_remote is not null)
        {
            RemoteOutput.UploadPart(_remote, Staging, record);
            _committed = true;
            try { Directory.Delete(Staging, recursive: true); } catch (IOException) { }
            return files.Select(f => _remote.Child(f).ToString()).ToArray();
        }
        DurableFiles.WriteAtomically(Path.Combine(Staging, RecordFileName), record.ToBytes());
        DurableFiles.SyncDirectory(Staging);
        var final = Path.Combine(_area, name);
        if (Directory.Exists(final))
        {
            // The earlier attempt of this same part: set aside under a temp name (removed by the next run of this part if
            // we are killed here), then replaced. Other parts are never touched.
            var aside = $"{final}.tmp-{Guid.NewGuid().ToString("N")[..8]}";
            Directory.Move(final, aside);
            Directory.Move(Staging, final);
            try { Directory.Delete(aside, recursive: true); } catch (IOException) { }
        }
        else Directory.Move(Staging, final);
        _committed = true;
        DurableFiles.SyncDirectory(_area);
        return files.Select(f => Path.Combine(final, f)).ToArray();
    }

    public void Dispose()
    {
        if (_committed || !Directory.Exists(Staging)) return;
        try { Directory.Delete(Staging, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The complete parts in a local parts area, with their folders.</summary>
    static IEnumerable<(PartRecord Record, string Folder)> LocalRecords(string area)
    {
        if (!Directory.Exists(area)) yield break;
        foreach (var folder in Directory.GetDirectories(area, "part-*").Where(d => !d.Contains(".tmp-", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(folder, RecordFileName);
            if (!File.Exists(file) || new FileInfo(file).Length > 256 << 20) continue;
            if (PartRecord.Parse(RegularFile.ReadAllBytes(file)) is { Complete: true } record && Path.GetFileName(folder) == record.Name())
                yield return (record, folder);
        }
    }

    /// <summary>
    /// Commits the run of the newest part once all its parts exist: <paramref name="writeIndex"/> writes the index files
    /// into the folder it is given (from the records, in part order). Refuses, naming them, when parts are missing.
    /// </summary>
    public static FinalizedOutput Finalize(string output, bool overwrite, Func<IReadOnlyList<PartRecord>, string, IReadOnlyList<string>> writeIndex)
    {
        if (RemoteOutput.Is(output)) return RemoteOutput.FinalizeParts(output, overwrite, writeIndex);
        var target = OutputPaths.Resolve(output);
        var area = AreaOf(target);
        var found = LocalRecords(area).ToArray();
        var run = Run(output, area, found.Select(f => f.Record).ToArray(), (record, file) =>
            File.Exists(Path.Combine(found.First(f => f.Record == record).Folder, file)) ? new FileInfo(Path.Combine(found.First(f => f.Record == record).Folder, file)).Length : -1);
        using var folder = OutputFolder.Begin(output, run[0].Inputs, overwrite);
        var moved = new List<(string From, string To)>();
        try
        {
            foreach (var record in run)
            {
                var from = found.First(f => f.Record == record).Folder;
                foreach (var file in record.Files.Keys)
                {
                    var to = Path.Combine(folder.Staging, file);
                    Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                    File.Move(Path.Combine(from, file), to);
                    moved.Add((Path.Combine(from, file), to));
                }
            }
            var index = writeIndex(run, folder.Staging);
            folder.Commit();
            try { Directory.Delete(area, recursive: true); } catch (IOException) { }
            return new FinalizedOutput(folder.Target, run[0].Verb, run.Count,
                run.SelectMany(r => r.Files.Keys).Select(f => Path.Combine(folder.Target, f)).ToArray(), index.Select(i => Path.Combine(folder.Target, i)).ToArray(),
                run.Sum(r => r.Files.Values.Sum()));
        }
        catch
        {
            // The parts stay where they were, so finalize can run again once the cause is fixed.
            foreach (var (from, to) in moved) if (File.Exists(to)) File.Move(to, from);
            throw;
        }
    }

    /// <summary>
    /// The complete run among <paramref name="records"/>: the newest part's, every one of its N parts present (of the same
    /// run, its files all there with their recorded lengths); otherwise one sentence naming the missing parts.
    /// </summary>
    internal static IReadOnlyList<PartRecord> Run(string output, string area, IReadOnlyList<PartRecord> records, Func<PartRecord, string, long> lengthOf)
    {
        if (records.Count == 0)
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, output, null,
                $"there are no parts to finalize in {area}; run reshard or convert with --rank r --ranks N and this --out first");
        var newest = records.MaxBy(r => r.Written)!;
        var missing = new List<string>();
        var run = new List<PartRecord>();
        for (int k = 0; k < newest.Parts; k++)
        {
            var part = records.Where(r => r.Job == newest.Job && r.Part == k && r.Complete).MaxBy(r => r.Written);
            var lost = part?.Files.FirstOrDefault(f => lengthOf(part, f.Key) != f.Value).Key;
            if (part is null || lost is not null) missing.Add(PartRecord.Name(k, newest.Parts) + (lost is null ? "" : $" ({lost} is missing or changed)"));
            else run.Add(part);
        }
        if (missing.Count > 0)
            throw new CheckpointFormatException(FormatErrorReason.Incomplete, output, null,
                $"{missing.Count} of the {newest.Parts} parts {(missing.Count == 1 ? "is" : "are")} missing: {OutputFolder.Show(missing)}; " +
                "run those ranks again with the same options, then finalize",
                $"{newest.Parts} parts", $"{newest.Parts - missing.Count}");
        return run;
    }
}

/// <summary>What `ckpt finalize` committed: the output, the verb and number of parts it came from, its data and index files.</summary>
public sealed record FinalizedOutput(string Output, string Verb, int Parts, IReadOnlyList<string> Files, IReadOnlyList<string> IndexFiles, long BytesWritten)
{
    /// <summary>The index files by name (`.metadata`, `model.safetensors.index.json`), as the summaries show them.</summary>
    public IEnumerable<string> IndexNames => IndexFiles.Select(Name);

    /// <summary>`ckpt finalize --json`'s document (docs/json.md): the data and index files by name.</summary>
    public JsonObject ToJson() => new()
    {
        ["out"] = Output,
        ["verb"] = Verb,
        ["parts"] = Parts,
        ["files"] = new JsonArray(Files.Select(f => (JsonNode)Name(f)).ToArray()),
        ["index"] = new JsonArray(IndexNames.Select(f => (JsonNode)f).ToArray()),
        ["bytesWritten"] = BytesWritten,
    };

    static string Name(string path) => path[(path.LastIndexOfAny(['/', '\\']) + 1)..];
}
