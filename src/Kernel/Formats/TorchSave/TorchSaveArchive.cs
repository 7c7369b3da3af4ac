using Ckpt.Pickle;

namespace Ckpt.Formats.TorchSave;

/// <summary>
/// A torch.save zip (pytorch/pytorch torch/serialization.py, `_save`): one top-level folder (`archive/`,
/// or the file's stem in older files) holding `data.pkl`, `data/&lt;key&gt;` storages, `byteorder`, `version`.
/// Opening reads the directory and `data.pkl` only; tensors become fragments that point at the storage
/// members' bytes in place. Invariants:
/// <list type="number">
/// <item>exactly one folder holds a `data.pkl` (ZipInvalid); `byteorder`, when present, is `little` (Unsupported);</item>
/// <item>every storage the pickle names has a `data/&lt;key&gt;` member (ZipInvalid) whose size is its element count ×
/// item size (ByteLengthMismatch); torch stores them, other writers (PyBridge) deflate them (<see cref="DeflatedStorage"/>);</item>
/// <item>every tensor's last element lies inside its storage (OffsetOutOfBounds).</item>
/// </list>
/// </summary>
public sealed class TorchSaveArchive : ITorchStorageLocator
{
    const long MaxPickleBytes = 1L << 30;

    public TorchZip Zip { get; }
    /// <summary>The folder all records live in, with its trailing '/' (`archive/`).</summary>
    public string Prefix { get; }
    /// <summary>The unpickled `data.pkl`: tensors are <see cref="TorchTensor"/>s, everything else inert data.</summary>
    public object? Root { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public string File => Zip.File;

    TorchSaveArchive(TorchZip zip, string prefix, object? root, IReadOnlyDictionary<string, string> metadata)
    {
        Zip = zip;
        Prefix = prefix;
        Root = root;
        Metadata = metadata;
    }

    /// <summary>Opens the torch.save zip at [offset, offset+length) of a storage file (the whole file by default).</summary>
    public static TorchSaveArchive Open(ICheckpointStorage storage, string file, long offset = 0, long? length = null) =>
        Load(TorchZip.Open(storage, file, offset, length));

    /// <summary>Opens a torch.save zip held in memory (a decoded DCP payload); data offsets are into <paramref name="bytes"/>.</summary>
    public static TorchSaveArchive Open(byte[] bytes, string displayName) => Load(TorchZip.Open(bytes, displayName));

    static TorchSaveArchive Load(TorchZip zip)
    {
        var pickles = zip.Members.Where(m => m.Name.EndsWith("data.pkl", StringComparison.Ordinal)
                                             && m.Name.Count(c => c == '/') == 1).ToArray();
        if (pickles.Length != 1)
            throw new CheckpointFormatException(FormatErrorReason.ZipInvalid, zip.File, null,
                pickles.Length == 0 ? "the zip has no '<folder>/data.pkl', so it is not a torch.save archive"
                                    : $"the zip has {pickles.Length} top-level data.pkl records",
                expected: "one <folder>/data.pkl", found: string.Join(", ", pickles.Select(p => p.Name).DefaultIfEmpty("none")));
        var prefix = pickles[0].Name[..^"data.pkl".Length];
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["torch.archive"] = prefix.TrimEnd('/') };
        foreach (var record in new[] { "version", "byteorder", ".format_version", ".storage_alignment" })
            if (zip.Find(prefix + record) is { } m && m.Size <= 64)
                metadata["torch." + record.TrimStart('.')] = Encoding.ASCII.GetString(zip.ReadAll(m)).Trim();
        var byteorder = metadata.GetValueOrDefault("torch.byteorder", "little");
        if (byteorder != "little")
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, zip.File, null,
                $"the archive was written {byteorder}-endian; only little-endian storages can be read in place",
                expected: "little", found: byteorder);

        var pickle = zip.ReadAll(pickles[0], MaxPickleBytes);
        var root = Unpickler.Load(pickle, $"{zip.File}:{pickles[0].Name}",
            new PickleOptions { PersistentLoad = TorchStorage.FromPersistentId });
        return new TorchSaveArchive(zip, prefix, root, metadata);
    }

    /// <summary>The stored `data/&lt;key&gt;` member holding a storage's bytes (deflated too where <paramref name="deflated"/> allows).</summary>
    public ZipMember StorageMember(TorchStorage storage, bool deflated = false)
    {
        var name = Prefix + "data/" + storage.Key;
        var m = Zip.Find(name) ?? throw new CheckpointFormatException(FormatErrorReason.ZipInvalid, File, null,
            $"the pickle names storage '{storage.Key}' but the zip has no member '{name}'");
        if (!m.IsStored && !(deflated && m.Method == 8))
            throw new CheckpointFormatException(FormatErrorReason.ZipInvalid, File, null,
                $"storage member '{name}' is compressed (method {m.Method}); torch.save stores storages uncompressed",
                expected: "method 0 (stored)", found: m.Method.ToString());
        if (m.Size != storage.ByteCount)
            throw new CheckpointFormatException(FormatErrorReason.ByteLengthMismatch, File, null,
                $"storage '{storage.Key}' holds {storage.ElementCount} {storage.DType} elements but its member has {m.Size} bytes",
                expected: $"{storage.ByteCount} bytes", found: $"{m.Size} bytes");
        return m;
    }

    public Payload Locate(TorchStorage storage)
    {
        var m = StorageMember(storage, deflated: true);
        return m.IsStored ? new Payload(File, m.DataOffset, m.Size) : DeflatedStorage.Payload(File, m);
    }
}
