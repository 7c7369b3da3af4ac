using System.Text.Json.Nodes;
using Ckpt.Resilience;

namespace Ckpt.Outputs;

/// <summary>
/// `.ckpt-output.json`: the top-level entries Ckpt wrote into an output folder. It is what lets `--overwrite`
/// replace a folder (every entry listed) and lets the next run delete a killed run's staging folder (it carries
/// one); a folder without it, or with an entry it does not list, holds the user's files and is never removed.
/// A listed folder (a fine-tune run's `checkpoints/`) covers what is under it.
/// </summary>
internal static class OutputMarker
{
    public const string FileName = ".ckpt-output.json";
    const string Writer = "ckpt";

    /// <summary>Marks a staging folder: everything in it is Ckpt's, whatever it holds, until the commit lists it.</summary>
    public static void WriteStaging(string folder) => Write(folder, [], staging: true);

    public static void Write(string folder, IEnumerable<string> entries) => Write(folder, entries, staging: false);

    static void Write(string folder, IEnumerable<string> entries, bool staging)
    {
        var json = new JsonObject
        {
            ["writtenBy"] = Writer,
            ["staging"] = staging,
            ["entries"] = new JsonArray(entries.Where(e => e != FileName).Order(StringComparer.Ordinal).Select(e => (JsonNode)e).ToArray()),
        };
        DurableFiles.WriteAtomically(Path.Combine(folder, FileName), JsonSerializer.SerializeToUtf8Bytes(json, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Whether the folder is a staging folder whose every entry is Ckpt's (see <see cref="WriteStaging"/>).</summary>
    public static bool IsStaging(string folder) => Parse(folder)?["staging"] is JsonValue v && v.TryGetValue<bool>(out var staging) && staging;

    /// <summary>The entries the marker lists, or null when the folder has no readable Ckpt marker.</summary>
    public static IReadOnlySet<string>? Read(string folder) =>
        Parse(folder)?["entries"] is JsonArray entries ? entries.Select(e => e is JsonValue v && v.TryGetValue<string>(out var name) ? name : null).OfType<string>().ToHashSet(StringComparer.Ordinal) : null;

    static JsonObject? Parse(string folder)
    {
        var path = Path.Combine(folder, FileName);
        var info = new FileInfo(path);
        // A marker is a few hundred bytes; anything else (a FIFO, a huge file) is not one of ours.
        if (!info.Exists || info.Attributes.HasFlag(FileAttributes.ReparsePoint) || info.Length > 1 << 20) return null;
        try
        {
            var root = JsonNode.Parse(RegularFile.ReadAllBytes(path)) as JsonObject;
            return root?["writtenBy"] is JsonValue w && w.TryGetValue<string>(out var writer) && writer == Writer && root["entries"] is JsonArray ? root : null;
        }
        // A FIFO or socket by that name is refused by RegularFile, never opened: not a marker either.
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or IOException or Errors.CheckpointFormatException) { return null; }
    }

    /// <summary>The folder's top-level entries that the marker does not list (all of them when there is no marker).</summary>
    public static IReadOnlyList<string> Foreign(string folder)
    {
        var listed = Read(folder);
        return Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName)
            .Where(n => n != FileName && (listed is null || !listed.Contains(n!) && !IsTemporaryOf(n!, listed)))
            .Select(n => n!).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>`adapter_model.safetensors.tmp-1a2b3c4d`: the temp file of a listed entry, left by a run killed mid-write.</summary>
    public static bool IsTemporaryOf(string name, IReadOnlySet<string> listed)
    {
        int at = name.LastIndexOf(".tmp", StringComparison.Ordinal);
        return at > 0 && listed.Contains(name[..at]);
    }
}
