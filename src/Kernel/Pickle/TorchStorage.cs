namespace Ckpt.Pickle;

/// <summary>
/// A storage a torch pickle refers to by persistent id, not its bytes. torch.save zips write
/// `('storage', StorageClass, key, location, numel)`; the legacy format adds a sixth item, view metadata
/// `(view_key, offset, size)` or None (torch/serialization.py, persistent_id).
/// </summary>
public sealed record TorchStorage(DType DType, string Key, string Location, long ElementCount, string ClassName, long ViewOffset = 0)
{
    public long ByteCount => DType.ByteCount(ElementCount);

    /// <summary>Reads a torch persistent id; anything else is PickleInvalid.</summary>
    public static TorchStorage FromPersistentId(object? pid)
    {
        if (pid is not PyTuple t || t.Count < 5 || t[0] is not string kind)
            throw Invalid($"the persistent id {PyRepr.Of(pid)} is not a ('storage', type, key, location, numel) tuple");
        if (kind != "storage")
            throw Invalid($"the persistent id names a '{kind}', not a storage");
        if (t[1] is not PyGlobal cls)
            throw Invalid($"the storage type {PyRepr.Of(t[1])} is not a torch storage class");
        var dtype = StorageDType(cls) ?? throw Invalid($"the storage class {cls.FullName} is not one torch.save writes");
        var key = t[2] switch { string s => s, long n => n.ToString(), _ => throw Invalid($"the storage key {PyRepr.Of(t[2])} is not a string") };
        var location = t[3] as string ?? PyRepr.Of(t[3]);
        if (t[4] is not long numel || numel < 0)
            throw Invalid($"storage '{key}' has element count {PyRepr.Of(t[4])}, not a non-negative integer");
        long viewOffset = 0;
        if (t.Count >= 6 && t[5] is PyTuple { Count: 3 } view)
        {
            if (view[1] is not long off || view[2] is not long size || off < 0 || size < 0)
                throw Invalid($"storage '{key}' has view metadata {PyRepr.Of(view)}, not (key, offset, size)");
            viewOffset = off;
        }
        // UntypedStorage counts bytes; typed storages count elements.
        return new TorchStorage(dtype, key, location, numel, cls.Name, viewOffset);
    }

    /// <summary>`torch.FloatStorage` -> F32, ..., `torch.UntypedStorage` -> U8 (its numel is a byte count).</summary>
    public static DType? StorageDType(PyGlobal cls)
    {
        if (cls.Module != "torch" && !cls.Module.StartsWith("torch.", StringComparison.Ordinal)) return null;
        if (!cls.Name.EndsWith("Storage", StringComparison.Ordinal)) return null;
        if (DTypes.TryFromTorchName(cls.Name, out var d)) return d;
        return cls.Name switch
        {
            "UntypedStorage" => DType.U8,
            "Float8_e4m3fnStorage" => DType.F8_E4M3,
            "Float8_e5m2Storage" => DType.F8_E5M2,
            "Float8_e4m3fnuzStorage" => DType.F8_E4M3FNUZ,
            "Float8_e5m2fnuzStorage" => DType.F8_E5M2FNUZ,
            "Float8_e8m0fnuStorage" => DType.F8_E8M0,
            "UInt16Storage" => DType.U16,
            "UInt32Storage" => DType.U32,
            "UInt64Storage" => DType.U64,
            _ => null,
        };
    }

    static CheckpointFormatException Invalid(string detail) => new(FormatErrorReason.PickleInvalid, null, null, detail);
}
