using System.Buffers.Binary;

namespace Ckpt.Formats.Safetensors;

/// <summary>One `.safetensors` file, or a folder holding exactly one and no index.</summary>
public sealed class SafetensorsFormat : ICheckpointFormat
{
    public string Name => "safetensors";
    public int Priority => 50;

    public bool Matches(ICheckpointStorage storage, string entry) => ResolveFile(storage, entry) is not null;

    static string? ResolveFile(ICheckpointStorage storage, string entry)
    {
        if (entry.Length == 0)
        {
            // transformers' single-file name wins; otherwise the folder must hold exactly one file.
            var files = storage.List().Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal)).ToArray();
            return files.Contains("model.safetensors") ? "model.safetensors" : files.Length == 1 ? files[0] : null;
        }
        if (entry.EndsWith(".safetensors", StringComparison.Ordinal)) return entry;
        // Any other name: recognise by shape of the first bytes (u64 length, then '{').
        if (storage.Length(entry) < 9) return null;
        Span<byte> head = stackalloc byte[9];
        storage.Read(entry, 0, head, IoCategory.Metadata);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(head);
        return head[8] == (byte)'{' && n < (ulong)storage.Length(entry) ? entry : null;
    }

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var file = ResolveFile(storage, entry)!;
        var header = SafetensorsHeader.Read(storage, file);
        var metadata = WeightsFileMetadata.Of(storage, file, header.Metadata);
        var dir = Path.GetDirectoryName(file)?.Replace('\\', '/') ?? "";
        return new CheckpointManifest
        {
            Format = Name,
            Framework = HfConfig.Framework(storage, dir) is "transformers" ? "transformers" : header.Metadata.GetValueOrDefault("format") ?? "unknown",
            Metadata = metadata,
            Tensors = header.ToEntries().ToArray(),
            Files = [new StorageFile(file, storage.Length(file))],
        };
    }
}
