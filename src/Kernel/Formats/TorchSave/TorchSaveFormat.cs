namespace Ckpt.Formats.TorchSave;

/// <summary>A torch.save zip file (`.pt`, `.pth`, `.bin`), or a folder holding exactly one (or `pytorch_model.bin`).</summary>
public sealed class TorchSaveFormat : ICheckpointFormat
{
    public string Name => "torch.save";
    public int Priority => 60;

    public bool Matches(ICheckpointStorage storage, string entry) => TorchSaveFile.Resolve(storage, entry, legacy: false) is not null;

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default) =>
        Describe(storage, TorchSaveFile.Resolve(storage, entry, legacy: false)!, Name);

    internal static CheckpointManifest Describe(ICheckpointStorage storage, string file, string format)
    {
        var contents = TorchSaveFile.Read(storage, file);
        var metadata = WeightsFileMetadata.Of(storage, file, contents.Metadata);
        return new CheckpointManifest
        {
            Format = format,
            Framework = TorchSaveFile.Framework(storage, file),
            Metadata = metadata,
            Tensors = contents.Tensors,
            Objects = contents.Objects,
            Files = [new StorageFile(file, storage.Length(file))],
        };
    }
}

/// <summary>The pre-zip torch.save format (torch &lt; 1.6, or `_use_new_zipfile_serialization=False`).</summary>
public sealed class LegacyTorchSaveFormat : ICheckpointFormat
{
    public string Name => "torch.save-legacy";
    public int Priority => 60;

    public bool Matches(ICheckpointStorage storage, string entry) => TorchSaveFile.Resolve(storage, entry, legacy: true) is not null;

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default) =>
        TorchSaveFormat.Describe(storage, TorchSaveFile.Resolve(storage, entry, legacy: true)!, Name);
}
