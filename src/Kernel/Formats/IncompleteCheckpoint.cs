using System.Text.RegularExpressions;
using Ckpt.Outputs;

namespace Ckpt.Formats;

/// <summary>
/// What an interrupted write leaves, refused before any reader looks: Ckpt's staging folders and temp files
/// (`name.tmp-…`), and a folder of Hugging Face shards (`model-00001-of-00003.safetensors`,
/// `pytorch_model-00001-of-00002.bin`) without the index that `save_pretrained` writes last. Read as they are, these
/// would look like a smaller, complete checkpoint.
/// The same for DCP data files (`__0_0.distcp`) without `.metadata`. (A training step without its commit manifest is
/// never listed by <see cref="Resilience.CheckpointDirectory"/>, and its `step-N.tmp-…` folder is a temp name.)
/// </summary>
internal static partial class IncompleteCheckpoint
{
    [GeneratedRegex(@"^(?<prefix>.+)-\d{5}-of-\d{5}\.(?<ext>safetensors|bin)$")]
    private static partial Regex ShardName();

    [GeneratedRegex(@"\.tmp-[0-9a-f]{8}([0-9a-f]{24})?$")]
    private static partial Regex TemporaryName();

    public static void Refuse(ICheckpointStorage storage, string entry)
    {
        if (OutputFolder.IsStaging(storage.Root) || entry.Split('/').Any(OutputFolder.IsStaging))
            throw Incomplete(entry.Length == 0 ? storage.Root : entry, "this is the staging folder of an unfinished Ckpt write, not a checkpoint");
        if (OutputParts.IsArea(storage.Root) || entry.Split('/').Any(OutputParts.IsArea) || Path.GetFileName(Path.TrimEndingDirectorySeparator(storage.Root)) == OutputParts.RemoteFolder
            || Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(storage.Root)) ?? "") is { } up && OutputParts.IsArea(up))
            throw Incomplete(entry.Length == 0 ? storage.Root : entry, "this is a part of an unfinished per-rank write (--rank, --ranks), not a checkpoint; ckpt finalize commits it");
        // A training step being committed (`step-N.tmp-<guid>/`) or any temp file a writer had not renamed yet.
        if (TemporaryName().IsMatch(Path.GetFileName(Path.TrimEndingDirectorySeparator(storage.Root))))
            throw Incomplete(storage.Root, "this is the temporary folder of an unfinished write, not a checkpoint");
        if (entry.Length > 0)
        {
            if (TemporaryName().IsMatch(entry))
                throw Incomplete(entry, "this is the temporary file of an unfinished write, not a checkpoint");
            return;
        }
        var files = storage.List();
        // DCP's FileSystemWriter writes `.metadata` after every rank's data file (formats.md §1.3).
        if (!files.Contains(".metadata") && files.FirstOrDefault(f => f.EndsWith(".distcp", StringComparison.Ordinal)) is { } data)
            throw Incomplete(storage.Root, $"the folder holds {data} but not the .metadata that is written after the data files", ".metadata", "no .metadata");
        // With the index present, its reader names any shard it lists that is missing (MissingFile).
        // torch DCP's Hugging Face layer writes one `shard-RRRRR-model-…` file per rank and no index (save_sharded).
        foreach (var shard in files.Where(f => !Dcp.DcpHuggingFaceFormat.IsRankFile(f)).Select(f => ShardName().Match(f)).Where(m => m.Success))
        {
            var (prefix, ext) = (shard.Groups["prefix"].Value, shard.Groups["ext"].Value);
            var index = $"{prefix}.{ext}.index.json";
            if (!files.Contains(index) && !files.Any(f => f.EndsWith($".{ext}.index.json", StringComparison.Ordinal)))
                throw Incomplete(storage.Root, $"the folder holds {shard.Value} but not the index that is written after the shards",
                    index, "no index");
        }
    }

    static CheckpointFormatException Incomplete(string file, string detail, string? expected = null, string? found = null) =>
        new(FormatErrorReason.Incomplete, file, null, detail, expected, found);
}
