namespace Ckpt.Formats.TorchSave;

/// <summary>What one torch.save file (zip or legacy) holds, as manifest entries.</summary>
sealed record TorchSaveFile(string File, bool Legacy, List<TensorEntry> Tensors, List<ObjectEntry> Objects,
    IReadOnlyDictionary<string, string> Metadata)
{
    static ReadOnlySpan<byte> ZipMagic => "PK\x03\x04"u8;

    static readonly string[] Extensions = [".pt", ".pth", ".bin", ".ckpt", ".tar", ".pkl", ".model"];

    public static bool IsZip(ICheckpointStorage storage, string file)
    {
        if (storage.Length(file) < 30) return false;
        Span<byte> head = stackalloc byte[30];
        storage.Read(file, 0, head, IoCategory.Metadata);
        if (!head[..4].SequenceEqual(ZipMagic)) return false;
        if (Extensions.Any(e => file.EndsWith(e, StringComparison.OrdinalIgnoreCase))) return true;
        // Any other name: torch writes `<folder>/data.pkl` first.
        int nameLength = head[26] | head[27] << 8;
        if (nameLength is < 9 or > 1024 || storage.Length(file) < 30 + nameLength) return false;
        var name = new byte[nameLength];
        storage.Read(file, 30, name, IoCategory.Metadata);
        return System.Text.Encoding.UTF8.GetString(name).EndsWith("/data.pkl", StringComparison.Ordinal);
    }

    /// <summary>
    /// The file a format should read at <paramref name="entry"/>: the entry itself, or for a folder its
    /// `pytorch_model.bin`, else its only `.pt`/`.pth`/`.bin`/`.ckpt` file, when that file is of the wanted kind.
    /// </summary>
    public static string? Resolve(ICheckpointStorage storage, string entry, bool legacy)
    {
        string? file = entry;
        if (entry.Length == 0)
        {
            var files = storage.List();
            file = files.Contains("pytorch_model.bin") ? "pytorch_model.bin" : null;
            if (file is null)
            {
                var candidates = files.Where(f => Extensions[..4].Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase))).ToArray();
                if (candidates.Length != 1) return null;
                file = candidates[0];
            }
        }
        if (!storage.Exists(file)) return null;
        return (legacy ? LegacyTorchSaveFile.HasSignature(storage, file) : IsZip(storage, file)) ? file : null;
    }

    public static TorchSaveFile Read(ICheckpointStorage storage, string file)
    {
        ITorchStorageLocator locator;
        object? root;
        IReadOnlyDictionary<string, string> metadata;
        bool legacy = LegacyTorchSaveFile.HasSignature(storage, file);
        if (legacy)
        {
            var f = LegacyTorchSaveFile.Open(storage, file);
            (locator, root, metadata) = (f, f.Root, f.Metadata);
        }
        else
        {
            var a = TorchSaveArchive.Open(storage, file);
            (locator, root, metadata) = (a, a.Root, a.Metadata);
        }
        var (tensors, objects) = StateDictFlattener.Flatten(root, locator);
        return new TorchSaveFile(file, legacy, tensors, objects, metadata);
    }

    /// <summary>`transformers` for HF weight files (a `config.json` beside, or the `pytorch_model*.bin` name), else `torch`.</summary>
    public static string Framework(ICheckpointStorage storage, string file)
    {
        var dir = Path.GetDirectoryName(file)?.Replace('\\', '/') ?? "";
        var name = Path.GetFileName(file);
        if (HfConfig.Framework(storage, dir) == "transformers" || name.StartsWith("pytorch_model", StringComparison.Ordinal))
            return "transformers";
        return "torch";
    }
}
