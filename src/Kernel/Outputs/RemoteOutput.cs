using System.Text.Json.Nodes;

namespace Ckpt.Outputs;

/// <summary>
/// An `--out` that is an object-store prefix (`s3://bucket/prefix`, `az://container/prefix`). The verb writes into a
/// local staging folder as for any output; <see cref="Commit"/> then uploads it in an order that never shows a reader
/// something complete before it is: the marker first (listing every object about to be written, so a killed upload
/// leaves a prefix `--overwrite` may replace), the data objects, and the index objects (`.metadata`,
/// `*.index.json`) last, which are what every reader requires before it accepts a checkpoint. Object stores have no
/// rename, so this ordering is the commit. The same rules as a local folder apply first: a non-empty prefix is refused
/// unless `--overwrite`, and then only when Ckpt's marker lists every object there; a prefix overlapping an input is refused.
/// </summary>
internal sealed class RemoteOutput
{
    readonly ObjectUrl _url;

    RemoteOutput(ObjectUrl url) => _url = url;

    public static bool Is(string output) => ObjectUrl.IsObjectUrl(output);

    /// <summary>Checks <paramref name="output"/> against the inputs and what the prefix holds; returns the URL as written back.</summary>
    public static RemoteOutput Check(string output, IEnumerable<string?> inputs, bool overwrite)
    {
        var url = ObjectUrl.Parse(output);
        CheckInputs(output, url, inputs);
        using var storage = ObjectStorage.Open(url);
        var existing = storage.Objects.Keys.Order(StringComparer.Ordinal).ToArray();
        if (existing.Length == 0) return new RemoteOutput(url);
        if (!overwrite)
            throw NotEmpty(output, existing);
        var listed = ReadMarker(storage);
        var foreign = existing.Where(k => k != OutputMarker.FileName && (listed is null || !listed.Contains(k))).ToArray();
        if (foreign.Length > 0)
            throw Foreign(output, foreign);
        return new RemoteOutput(url);
    }

    static CheckpointFormatException NotEmpty(string output, IReadOnlyList<string> existing) =>
        OutputPaths.Refused(output, "the output prefix is not empty; pass --overwrite to replace an output Ckpt wrote",
            "an empty or new prefix", OutputFolder.Show(existing));

    static CheckpointFormatException Foreign(string output, IReadOnlyList<string> foreign) =>
        OutputPaths.Refused(output, "--overwrite replaces only an output Ckpt wrote, and this prefix holds objects it did not write",
            "only objects listed in " + OutputMarker.FileName, OutputFolder.Show(foreign));

    static void CheckInputs(string output, ObjectUrl url, IEnumerable<string?> inputs)
    {
        foreach (var input in inputs)
        {
            if (!ObjectUrl.IsObjectUrl(input)) continue;
            var other = ObjectUrl.Parse(input!);
            if (other.Scheme != url.Scheme || other.Bucket != url.Bucket) continue;
            if (other.Prefix == url.Prefix)
                throw OutputPaths.Refused(output, $"the output is the input {input}; write to another prefix");
            if (Inside(url.Prefix, other.Prefix))
                throw OutputPaths.Refused(output, $"the output lies inside the input {input}; write to another prefix");
            if (Inside(other.Prefix, url.Prefix))
                throw OutputPaths.Refused(output, $"the output contains the input {input}; write to another prefix");
        }
    }

    static bool Inside(string prefix, string folder) => folder.Length == 0 || prefix.StartsWith(folder + "/", StringComparison.Ordinal);

    /// <summary>Whether readers need <paramref name="relative"/> before accepting a checkpoint: uploaded last.</summary>
    static bool IsIndex(string relative) =>
        relative == ".metadata" || relative.EndsWith(".index.json", StringComparison.Ordinal) || relative.EndsWith("/.metadata", StringComparison.Ordinal);

    /// <summary>Uploads the staged folder (see the class summary) and removes objects of a replaced output that the new one lacks.</summary>
    public void Commit(string staging, bool overwrite)
    {
        var files = Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(staging, f).Replace('\\', '/'))
            .Where(f => f != OutputMarker.FileName).Order(StringComparer.Ordinal).ToArray();
        using var storage = ObjectStorage.Open(_url);
        // Checked again right before writing: someone may have put objects there while the verb ran.
        var old = Check(_url.ToString(), [], overwrite) is not null ? storage.Objects.Keys.ToArray() : [];
        var listed = (ReadMarker(storage) ?? new HashSet<string>(StringComparer.Ordinal)).Union(files).ToArray();
        UploadMarker(storage, staging, listed);
        // A replaced output stops looking complete before any of its objects changes.
        foreach (var index in old.Where(IsIndex)) storage.Delete(index);
        Parallel.ForEach(files.Where(f => !IsIndex(f)), new ParallelOptions { MaxDegreeOfParallelism = 4 },
            f => storage.Upload(f, Path.Combine(staging, f)));
        foreach (var f in files.Where(IsIndex)) storage.Upload(f, Path.Combine(staging, f));
        foreach (var stale in old.Where(k => k != OutputMarker.FileName && !files.Contains(k))) storage.Delete(stale);
        UploadMarker(storage, staging, files);
    }

    /// <summary>
    /// Checks a prefix for one part of a per-rank run (<see cref="OutputParts"/>): every object there must be a part record,
    /// an object a part of this run listed, or (with <paramref name="overwrite"/>) one of an earlier output or run Ckpt
    /// wrote, whose index objects are then deleted so it stops looking complete. Parts never write index objects, so N
    /// processes doing this at once cannot remove each other's work.
    /// </summary>
    public static void CheckParts(string output, IReadOnlyList<string> inputs, bool overwrite, string job)
    {
        var url = ObjectUrl.Parse(output);
        CheckInputs(output, url, inputs);
        using var storage = ObjectStorage.Open(url);
        var records = ReadRecords(storage);
        if (!overwrite && records.FirstOrDefault(r => r.Job != job) is { } other) throw OutputParts.OtherRun(output, other);
        var ours = records.Where(r => r.Job == job).SelectMany(r => r.Files.Keys).ToHashSet(StringComparer.Ordinal);
        var others = records.Where(r => r.Job != job).SelectMany(r => r.Files.Keys).ToHashSet(StringComparer.Ordinal);
        var listed = ReadMarker(storage) ?? [];
        var rest = storage.Objects.Keys.Where(k => !IsRecord(k) && !ours.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        var foreign = rest.Where(k => k != OutputMarker.FileName && !listed.Contains(k) && !others.Contains(k)).ToArray();
        if (foreign.Length > 0) throw overwrite ? Foreign(output, foreign) : NotEmpty(output, rest);
        if (rest.Length > 0 && !overwrite) throw NotEmpty(output, rest);
        foreach (var index in rest.Where(IsIndex)) storage.Delete(index);
    }

    /// <summary>Uploads one part: its record listing what it is about to write, the objects, then the record marked complete.</summary>
    public static void UploadPart(ObjectUrl url, string staging, PartRecord record)
    {
        using var storage = ObjectStorage.Open(url);
        UploadRecord(storage, staging, record with { Complete = false, Stored = [] });
        Parallel.ForEach(record.Files.Keys, new ParallelOptions { MaxDegreeOfParallelism = 4 }, f => storage.Upload(f, Path.Combine(staging, f)));
        UploadRecord(storage, staging, record);
    }

    /// <summary>`ckpt finalize` of a prefix: see <see cref="OutputParts.Finalize"/>; the index objects go up last.</summary>
    public static FinalizedOutput FinalizeParts(string output, bool overwrite, Func<IReadOnlyList<PartRecord>, string, IReadOnlyList<string>> writeIndex)
    {
        var url = ObjectUrl.Parse(output);
        using var storage = ObjectStorage.Open(url);
        var records = ReadRecords(storage);
        var run = OutputParts.Run(output, url.Child(OutputParts.RemoteFolder).ToString(), records, (_, f) => storage.Objects.TryGetValue(f, out var n) ? n : -1);
        CheckInputs(output, url, run[0].Inputs);
        var files = run.SelectMany(r => r.Files.Keys).ToHashSet(StringComparer.Ordinal);
        var ckpts = records.SelectMany(r => r.Files.Keys).ToHashSet(StringComparer.Ordinal);
        var listed = ReadMarker(storage) ?? [];
        var old = storage.Objects.Keys.Where(k => !IsRecord(k) && !files.Contains(k) && !ckpts.Contains(k)).Order(StringComparer.Ordinal).ToArray();
        var foreign = old.Where(k => k != OutputMarker.FileName && !listed.Contains(k)).ToArray();
        if (foreign.Length > 0) throw overwrite ? Foreign(output, foreign) : NotEmpty(output, old);
        if (old.Length > 0 && !overwrite) throw NotEmpty(output, old);

        var local = Path.Combine(Path.GetTempPath(), $".ckpt-finalize-{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(local);
        try
        {
            var index = writeIndex(run, local);
            var present = storage.Objects.Keys.Where(k => k != OutputMarker.FileName).ToArray();
            UploadMarker(storage, local, present.Union(index));
            foreach (var stale in present.Where(k => IsIndex(k) && !index.Contains(k))) storage.Delete(stale);
            foreach (var f in index) storage.Upload(f, Path.Combine(local, f));
            foreach (var stale in present.Where(k => !files.Contains(k) && !index.Contains(k))) storage.Delete(stale);
            UploadMarker(storage, local, files.Union(index));
            return new FinalizedOutput(url.ToString(), run[0].Verb, run.Count, files.Order(StringComparer.Ordinal).Select(f => url.Child(f).ToString()).ToArray(),
                index.Select(f => url.Child(f).ToString()).ToArray(), run.Sum(r => r.Files.Values.Sum()));
        }
        finally { try { Directory.Delete(local, recursive: true); } catch (IOException) { } }
    }

    static bool IsRecord(string key) => key.StartsWith(OutputParts.RemoteFolder + "/", StringComparison.Ordinal);

    static void UploadRecord(ObjectStorage storage, string staging, PartRecord record)
    {
        var file = Path.Combine(staging, $".record-{Guid.NewGuid().ToString("N")[..8]}.json");
        File.WriteAllBytes(file, record.ToBytes());
        storage.Upload($"{OutputParts.RemoteFolder}/{record.Name()}.json", file);
        File.Delete(file);
    }

    /// <summary>The part records under the prefix (complete or still being written).</summary>
    static IReadOnlyList<PartRecord> ReadRecords(ObjectStorage storage)
    {
        var records = new List<PartRecord>();
        foreach (var (key, length) in storage.Objects.Where(kv => IsRecord(kv.Key) && kv.Key.EndsWith(".json", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (length > 256 << 20) continue;
            var bytes = new byte[length];
            storage.Read(key, 0, bytes, IoCategory.Metadata);
            if (PartRecord.Parse(bytes) is { } r && key == $"{OutputParts.RemoteFolder}/{r.Name()}.json") records.Add(r);
        }
        return records;
    }

    static void UploadMarker(ObjectStorage storage, string staging, IEnumerable<string> entries)
    {
        var json = new JsonObject
        {
            ["writtenBy"] = "ckpt",
            ["staging"] = false,
            ["entries"] = new JsonArray(entries.Order(StringComparer.Ordinal).Select(e => (JsonNode)e).ToArray()),
        };
        var file = Path.Combine(staging, OutputMarker.FileName);
        File.WriteAllBytes(file, JsonSerializer.SerializeToUtf8Bytes(json, new JsonSerializerOptions { WriteIndented = true }));
        storage.Upload(OutputMarker.FileName, file);
    }

    /// <summary>The objects Ckpt's marker lists, or null when the prefix has no readable marker.</summary>
    static HashSet<string>? ReadMarker(ObjectStorage storage)
    {
        if (!storage.Exists(OutputMarker.FileName) || storage.Length(OutputMarker.FileName) > 16 << 20) return null;
        var bytes = new byte[storage.Length(OutputMarker.FileName)];
        storage.Read(OutputMarker.FileName, 0, bytes, IoCategory.Metadata);
        try
        {
            return JsonNode.Parse(bytes) is JsonObject { } root && root["writtenBy"]?.GetValue<string>() == "ckpt" && root["entries"] is JsonArray entries
                ? entries.Select(e => e?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal) : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException) { return null; }
    }
}
