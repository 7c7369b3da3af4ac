using System.Numerics;
using Ckpt.Pickle;

namespace Ckpt.Formats.Dcp;

/// <summary>
/// Turns the unpickled `.metadata` (inert <see cref="PyObject"/>s: nothing from the pickle is executed) into
/// <see cref="DcpMetadata"/>. Classes are matched by name, not module, so every writer is accepted:
/// `torch.distributed.checkpoint.metadata.*` (torch ≥ 2.3), `torch.distributed._shard.sharded_tensor.metadata.TensorProperties`
/// (≤ 2.2), ByteCheckpoint's `meta_type.Metadata`, Megatron's extra `mcore_data` attribute. Dataclass fields a writer
/// left out take their defaults; attributes this reader does not know are kept as inert values.
/// </summary>
internal static class DcpMetadataReader
{
    /// <summary>A `.metadata` larger than this is refused before it is read.</summary>
    public const long MaxMetadataBytes = 1L << 30;

    static readonly HashSet<string> KnownAttributes = new(StringComparer.Ordinal)
    {
        "state_dict_metadata", "planner_data", "storage_data", "storage_meta", "version",
    };

    public static DcpMetadata Read(ICheckpointStorage storage, string file)
    {
        var bytes = MetadataFile.ReadAll(storage, file, MaxMetadataBytes, "the DCP .metadata file is larger than 1 GiB",
            empty: "the DCP .metadata file is empty");
        object? root;
        try { root = Unpickler.Load(bytes, file); }
        catch (CheckpointFormatException e) when (e.File is null)
        {
            throw new CheckpointFormatException(e.Reason, file, null, e.Message.TrimEnd('.'), e.Expected, e.Found, e);
        }
        return FromPickle(file, root);
    }

    public static DcpMetadata FromPickle(string file, object? root)
    {
        if (root is not PyObject { Class.Name: "Metadata" } metadata)
            throw Invalid(file, null, $"the pickle holds {Describe(root)}, not a DCP Metadata object");

        var sdm = metadata.Attribute("state_dict_metadata") as PyDict
            ?? throw Invalid(file, null, "Metadata has no state_dict_metadata dict");
        var stateDict = new List<KeyValuePair<string, DcpItem>>(sdm.Count);
        foreach (var (key, value) in sdm)
        {
            var fqn = key as string ?? throw Invalid(file, null, $"a state_dict_metadata key is {Describe(key)}, not a string");
            stateDict.Add(new(fqn, Item(file, fqn, value)));
        }

        var storageData = new List<DcpStorageEntry>();
        if (metadata.Attribute("storage_data") is PyDict sd)
            foreach (var (key, value) in sd)
                storageData.Add(StorageEntry(file, key, value));
        else if (metadata.Attribute("storage_data") is not null)
            throw Invalid(file, null, $"storage_data is {Describe(metadata.Attribute("storage_data"))}, not a dict");

        var extra = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (AttributeDict(metadata) is { } attributes)
            foreach (var (k, v) in attributes)
                if (k is string name && !KnownAttributes.Contains(name)) extra[name] = v;

        return new DcpMetadata(stateDict, PlannerData(file, metadata.Attribute("planner_data")), storageData,
            StorageMeta(metadata.Attribute("storage_meta")), metadata.Attribute("version") as string, extra, metadata.Class.FullName);
    }

    static DcpItem Item(string file, string fqn, object? value)
    {
        if (value is not PyObject obj)
            throw Invalid(file, fqn, $"its storage metadata is {Describe(value)}, not a TensorStorageMetadata or BytesStorageMetadata");
        switch (obj.Class.Name)
        {
            case "BytesStorageMetadata":
                return new DcpBytesItem();
            case "TensorStorageMetadata":
                var dtype = DTypeOf(file, fqn, obj.Attribute("properties"));
                var shape = Longs(obj.Attribute("size")) ?? throw Invalid(file, fqn, $"its size is {Describe(obj.Attribute("size"))}, not a torch.Size");
                if (shape.Any(d => d < 0) || Manifest.Shapes.TryElementCount(shape) is null)
                    throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, fqn,
                        $"its global size {Manifest.Shapes.Format(shape)} is negative or has more than 2^63 elements");
                if (obj.Attribute("chunks") is not IEnumerable<object?> chunkList)
                    throw Invalid(file, fqn, $"its chunks are {Describe(obj.Attribute("chunks"))}, not a list");
                var chunks = new List<DcpChunk>();
                foreach (var c in chunkList)
                {
                    if (c is not PyObject co || Longs(co.Attribute("offsets")) is not { } offsets || Longs(co.Attribute("sizes")) is not { } sizes)
                        throw Invalid(file, fqn, $"a chunk is {Describe(c)}, not a ChunkStorageMetadata with offsets and sizes");
                    chunks.Add(new DcpChunk(offsets, sizes));
                }
                return new DcpTensorItem(dtype, shape, chunks);
            default:
                throw Invalid(file, fqn, $"its storage metadata is a {obj.Class.FullName}, not a TensorStorageMetadata or BytesStorageMetadata");
        }
    }

    /// <summary>
    /// `TensorProperties` pickles its state as the 5-tuple (dtype, layout, requires_grad, memory_format, pin_memory)
    /// through a custom __getstate__ (torch ≥ 1.13); older or foreign writers may leave a dict of fields.
    /// </summary>
    static DType DTypeOf(string file, string fqn, object? properties)
    {
        object? dtype = properties switch
        {
            PyObject { State: PyTuple { Count: > 0 } t } => t[0],
            PyObject p => p.Attribute("dtype"),
            _ => throw Invalid(file, fqn, $"its properties are {Describe(properties)}, not a TensorProperties"),
        };
        return dtype switch
        {
            TorchDType { DType: { } d } => d,
            TorchDType other => throw new CheckpointFormatException(FormatErrorReason.UnknownDType, file, fqn,
                $"its dtype torch.{other.Name} has no safetensors equivalent", found: "torch." + other.Name),
            PyGlobal g when DTypes.TryFromTorchName(g.Name, out var d) => d,
            _ => throw new CheckpointFormatException(FormatErrorReason.UnknownDType, file, fqn,
                $"its dtype is {Describe(dtype)}, not a torch dtype", found: Describe(dtype)),
        };
    }

    static DcpStorageEntry StorageEntry(string file, object key, object? value)
    {
        if (key is not PyObject index || Attr(index, "fqn") is not string fqn)
            throw Invalid(file, null, $"a storage_data key is {Describe(key)}, not a MetadataIndex with an fqn");
        // MetadataIndex only sets `offset` when it is not None, so the pickled dict may lack it.
        var offsetValue = Attr(index, "offset");
        var offset = offsetValue is null ? null : Longs(offsetValue)
            ?? throw Invalid(file, fqn, $"its MetadataIndex offset is {Describe(offsetValue)}, not a torch.Size");
        long? hint = Attr(index, "index") is { } ix ? Long(ix) : null;
        if (value is not PyObject info || Attr(info, "relative_path") is not string path
            || Long(Attr(info, "offset")) is not { } start || Long(Attr(info, "length")) is not { } length)
            throw Invalid(file, fqn, $"its storage info is {Describe(value)}, not a _StorageInfo(relative_path, offset, length)");
        IReadOnlyList<string>? transforms = null;
        if (Attr(info, "transform_descriptors") is IEnumerable<object?> list)
        {
            var names = list.Select(x => x as string ?? throw Invalid(file, fqn, $"a transform descriptor is {Describe(x)}, not a string")).ToArray();
            if (names.Length > 0) transforms = names;
        }
        return new DcpStorageEntry(fqn, offset, hint, new DcpStorageInfo(path, start, length, transforms));
    }

    /// <summary>
    /// The (fqn, chunk offset) of a pickled `MetadataIndex` used as a dict key elsewhere than storage_data
    /// (ByteCheckpoint's `all_tensor_metadata`); the offset is null for bytes items.
    /// </summary>
    public static (string Fqn, IReadOnlyList<long>? Offset) MetadataIndexKey(string file, object? key)
    {
        if (key is not PyObject index || Attr(index, "fqn") is not string fqn)
            throw Invalid(file, null, $"a key is {Describe(key)}, not a MetadataIndex with an fqn");
        var offsetValue = Attr(index, "offset");
        var offset = offsetValue is null ? null : Longs(offsetValue)
            ?? throw Invalid(file, fqn, $"its MetadataIndex offset is {Describe(offsetValue)}, not a torch.Size");
        return (fqn, offset);
    }

    /// <summary>A dataclass field from the BUILD dict, or by position when a writer pickled it as a tuple / NamedTuple.</summary>
    static object? Attr(PyObject o, string name)
    {
        if (o.HasAttribute(name)) return o.Attribute(name);
        IReadOnlyList<object?> positional = AttributeDict(o) is null && o.State is PyTuple st ? st : o.Args;
        int i = (o.Class.Name, name) switch
        {
            ("MetadataIndex", "fqn") or ("_StorageInfo", "relative_path") => 0,
            ("MetadataIndex", "offset") or ("_StorageInfo", "offset") => 1,
            ("MetadataIndex", "index") or ("_StorageInfo", "length") => 2,
            ("_StorageInfo", "transform_descriptors") => 3,
            _ => -1,
        };
        return i >= 0 && i < positional.Count ? positional[i] : null;
    }

    static PyDict? AttributeDict(PyObject o) => o.State as PyDict ?? (o.State is PyTuple { Count: 2 } t ? t[0] as PyDict : null);

    static IReadOnlyDictionary<string, IReadOnlyList<object>>? PlannerData(string file, object? value)
    {
        if (value is not PyDict dict) return null;
        var result = new Dictionary<string, IReadOnlyList<object>>(StringComparer.Ordinal);
        foreach (var (k, v) in dict)
        {
            if (k is not string fqn) continue;
            if (v is not IEnumerable<object?> path) { result[fqn] = [fqn]; continue; }
            result[fqn] = path.Select(p => p switch
            {
                string s => (object)s,
                long n => n,
                int n => (long)n,
                BigInteger b => (object)(long)b,
                _ => throw Invalid(file, fqn, $"its planner_data path holds {Describe(p)}, not a str or int"),
            }).ToArray();
        }
        return result;
    }

    static DcpStorageMeta? StorageMeta(object? value)
    {
        if (value is not PyObject meta) return null;
        var modules = meta.Attribute("modules") is IEnumerable<object?> list ? list.OfType<string>().ToArray() : [];
        return new DcpStorageMeta(PathText(meta.Attribute("checkpoint_id")), meta.Attribute("save_id") as string,
            meta.Attribute("load_id") as string, modules);
    }

    /// <summary>`checkpoint_id` is a str or a pathlib path (REDUCE of PosixPath with its parts).</summary>
    static string? PathText(object? value) => value switch
    {
        string s => s,
        PyObject { Class.Name: "PosixPath" or "WindowsPath" or "PurePosixPath" or "Path" } p when p.Args.All(a => a is string) =>
            string.Join("/", p.Args.Cast<string>()).Replace("//", "/"),
        null => null,
        _ => PyRepr.Of(value),
    };

    static long[]? Longs(object? value)
    {
        if (value is PyObject { Class.Name: "Size" } size && size.Args.Count == 1) value = size.Args[0];
        if (value is not IEnumerable<object?> items || value is string) return null;
        var result = new List<long>();
        foreach (var x in items)
        {
            if (Long(x) is not { } l) return null;
            result.Add(l);
        }
        return result.ToArray();
    }

    static long? Long(object? value) => value switch
    {
        long l => l,
        int i => i,
        BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        _ => null,
    };

    static string Describe(object? value) => value switch
    {
        null => "None",
        PyObject o => $"a {o.Class.FullName}",
        _ => PyRepr.Of(value),
    };

    static CheckpointFormatException Invalid(string file, string? fqn, string detail) =>
        new(FormatErrorReason.MetadataInvalid, file, fqn, detail);
}
