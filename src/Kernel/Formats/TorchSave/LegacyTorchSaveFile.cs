using System.Buffers.Binary;
using System.Numerics;
using Ckpt.Pickle;

namespace Ckpt.Formats.TorchSave;

/// <summary>
/// The pre-zip torch.save format (`_use_new_zipfile_serialization=False`; torch/serialization.py `_legacy_save`):
/// five pickles back to back (magic number, protocol version 1001, sys_info, the object, the list of storage
/// keys), then each storage in key order as an 8-byte little-endian element count followed by its bytes.
/// Storage offsets are found by reading the 8-byte counts and seeking, never by reading tensor bytes.
/// Invariants:
/// <list type="number">
/// <item>the first pickle is the magic number 0x1950a86a20f9469cfc6c and the second 1001 (HeaderInvalid);</item>
/// <item>sys_info says little-endian (Unsupported);</item>
/// <item>every listed key was named by the object pickle (MetadataInvalid), its count matches the pickle's
/// element count (ByteLengthMismatch), and its bytes end inside the file (Truncated).</item>
/// </list>
/// </summary>
public sealed class LegacyTorchSaveFile : ITorchStorageLocator
{
    public static readonly BigInteger MagicNumber = BigInteger.Parse("119547037146038801333356");
    /// <summary>The file's first bytes: PROTO 2, LONG1 of 10 bytes, then the magic number's low bytes.</summary>
    public static ReadOnlySpan<byte> Signature => [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
    const long MaxPickleBytes = 1L << 30;

    readonly Dictionary<string, (long Offset, long Length)> _storages;

    public string File { get; }
    public object? Root { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    LegacyTorchSaveFile(string file, object? root, Dictionary<string, (long, long)> storages, IReadOnlyDictionary<string, string> metadata)
    {
        File = file;
        Root = root;
        _storages = storages;
        Metadata = metadata;
    }

    public static bool HasSignature(ICheckpointStorage storage, string file)
    {
        if (storage.Length(file) < Signature.Length) return false;
        Span<byte> head = stackalloc byte[Signature.Length];
        storage.Read(file, 0, head, IoCategory.Metadata);
        return head.SequenceEqual(Signature);
    }

    public static LegacyTorchSaveFile Open(ICheckpointStorage storage, string file)
    {
        long length = storage.Length(file);
        // The pickles come first; read a prefix and grow it only when a pickle runs past it.
        long window = Math.Min(length, 1 << 20);
        while (true)
        {
            var prefix = new byte[window];
            storage.Read(file, 0, prefix, IoCategory.Metadata);
            try
            {
                return Parse(storage, file, prefix, length);
            }
            catch (CheckpointFormatException e) when (e.Data[Unpickler.TruncatedKey] is true && window < length && window < MaxPickleBytes)
            {
                window = Math.Min(Math.Min(length, MaxPickleBytes), window * 4);
            }
        }
    }

    static LegacyTorchSaveFile Parse(ICheckpointStorage storage, string file, byte[] prefix, long fileLength)
    {
        int pos = 0;
        object? Next(PickleOptions? options = null)
        {
            var value = Unpickler.Load(prefix, pos, prefix.Length - pos, file, options, out var end);
            pos = end;
            return value;
        }

        if (Next() is not BigInteger magic || magic != MagicNumber)
            throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, null,
                "the file does not start with torch's legacy magic number", expected: MagicNumber.ToString(), found: "another value");
        var protocol = Next();
        if (protocol is not long p || p != 1001)
            throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, null,
                "the legacy protocol version is not 1001", expected: "1001", found: PyRepr.Of(protocol));
        var sysInfo = Next() as PyDict;
        if (sysInfo?.Get("little_endian") is false)
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, file, null,
                "the file was written big-endian; only little-endian storages can be read in place", expected: "little", found: "big");

        var named = new Dictionary<string, TorchStorage>(StringComparer.Ordinal);
        var root = Next(new PickleOptions
        {
            PersistentLoad = pid =>
            {
                var s = TorchStorage.FromPersistentId(pid);
                named.TryAdd(s.Key, s);
                return s;
            },
        });
        if (Next() is not PyList keys || keys.Any(k => k is not string))
            throw new CheckpointFormatException(FormatErrorReason.HeaderInvalid, file, null, "the storage key list is not a list of strings");

        // Each storage's place follows from the sizes the pickle gives; the 8-byte counts only confirm it,
        // and are read together when storages are small.
        var storages = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        var counts = new List<(long Offset, int Length)>();
        var order = new List<TorchStorage>();
        long offset = pos;
        foreach (string key in keys.Cast<string>())
        {
            if (!named.TryGetValue(key, out var s))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, null,
                    $"storage '{key}' is listed but no tensor names it, so its element size is unknown");
            long bytes = s.ByteCount;
            if (offset + 8 > fileLength || bytes > fileLength - offset - 8)
                throw new CheckpointFormatException(FormatErrorReason.Truncated, file, null,
                    $"storage '{key}' needs {bytes} bytes at offset {offset + 8} but the file ends at {fileLength}",
                    expected: $"{offset + 8 + bytes} bytes", found: $"{fileLength} bytes");
            storages[key] = (offset + 8, bytes);
            counts.Add((offset, 8));
            order.Add(s);
            offset += 8 + bytes;
        }
        SmallRangeReads.Read(counts, (at, dest) => storage.Read(file, at, dest.Span, IoCategory.Metadata), (i, count) =>
        {
            long n = BinaryPrimitives.ReadInt64LittleEndian(count);
            if (n != order[i].ElementCount)
                throw new CheckpointFormatException(FormatErrorReason.ByteLengthMismatch, file, null,
                    $"storage '{order[i].Key}' is stored with {n} elements but the pickle says {order[i].ElementCount}",
                    expected: order[i].ElementCount.ToString(), found: n.ToString());
        });
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["torch.protocol_version"] = "1001", ["torch.legacy"] = "true" };
        return new LegacyTorchSaveFile(file, root, storages, metadata);
    }

    public Payload Locate(TorchStorage storage) =>
        _storages.TryGetValue(storage.Key, out var s)
            ? new Payload(File, s.Offset, s.Length)
            : throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, File, null,
                $"storage '{storage.Key}' is named by the pickle but not in the stored key list");
}
