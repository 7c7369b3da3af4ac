namespace Ckpt.Formats;

/// <summary>
/// A folder of several unindexed checkpoints (<see cref="CheckpointSet"/>). It runs after every layout that makes a
/// folder one checkpoint and before the single-file readers, which would otherwise take the one `eval_batch.pt` lying
/// among sixteen `.safetensors` checkpoints for the whole folder. A set is not one checkpoint: describing it refuses
/// in one sentence naming its members; where only one candidate turns out to be a checkpoint, it is that checkpoint.
/// </summary>
public sealed class CheckpointSetFormat : ICheckpointFormat
{
    public string Name => "set";
    public int Priority => 40;

    public bool Matches(ICheckpointStorage storage, string entry) => entry.Length == 0 && CheckpointSet.IsSet(storage);

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(storage.Root))  // an object store: the members are named by their files alone
            throw new Errors.CheckpointFormatException(Errors.FormatErrorReason.CheckpointSet, storage.Root, null,
                $"this folder holds several checkpoints ({string.Join(", ", storage.List().Where(CheckpointSet.IsCandidateFile))}): name one");
        var set = CheckpointSet.Open(storage.Root, cancellationToken);
        if (set.Members.Count >= 2) throw set.NameOne();
        var only = set.Members[0].Name;
        var manifest = CheckpointProbe.Find(storage, only).Describe(storage, only, cancellationToken);
        var metadata = new Dictionary<string, string>(manifest.Metadata, StringComparer.Ordinal) { ["set.left_out"] = string.Join(", ", set.LeftOut) };
        return manifest with { Metadata = metadata };
    }
}
