namespace Ckpt.Formats;

/// <summary>
/// One on-disk format. Implementations are discovered by <see cref="CheckpointProbe"/>; adding a format is
/// adding a class and a test class. A reader describes, it never reads tensor bytes.
/// </summary>
public interface ICheckpointFormat
{
    /// <summary>Format name as reported in manifests (`safetensors`, `torch.save`, `dcp`).</summary>
    string Name { get; }

    /// <summary>Lower runs first: folder layouts that wrap other formats (DCP, indexes) before plain files.</summary>
    int Priority { get; }

    /// <summary>
    /// Whether this format is at <paramref name="entry"/>: a file relative to the storage root, or "" for the
    /// root folder. Cheap: looks at names and at most a few header bytes.
    /// </summary>
    bool Matches(ICheckpointStorage storage, string entry);

    CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default);
}
