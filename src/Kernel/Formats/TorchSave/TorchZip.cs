using System.Buffers.Binary;

namespace Ckpt.Formats.TorchSave;

/// <summary>
/// The central directory of a zip held in a byte range of a storage file (a whole `.pt`, or a torch.save
/// archive embedded at an offset inside a DCP `.distcp`), ZIP64 included. torch.save stores members
/// uncompressed and 64-byte aligned, so each member's data offset points straight at tensor bytes.
/// Invariants, each ZipInvalid:
/// <list type="number">
/// <item>an end-of-central-directory record (and, when fields overflow, its ZIP64 record) lies in the range;</item>
/// <item>the central directory and every member's local header and data lie inside the range;</item>
/// <item>member names are relative, without `..` segments, backslashes or NUL, and unique;</item>
/// <item>a local header has the right signature; the central directory holds at most as many entries as fit in it.</item>
/// </list>
/// </summary>
public sealed class TorchZip
{
    const uint EocdSignature = 0x06054b50;
    const uint Zip64EocdSignature = 0x06064b50;
    const uint Zip64LocatorSignature = 0x07064b50;
    const uint CentralSignature = 0x02014b50;
    const uint LocalSignature = 0x04034b50;
    const int EocdSize = 22;
    const int MaxComment = 0xFFFF;
    const long MaxCentralDirectory = 256L * 1024 * 1024;

    readonly Dictionary<string, ZipMember> _byName;
    readonly RangeReader _read;

    /// <summary>The file holding the zip (for messages and payloads).</summary>
    public string File { get; }
    /// <summary>Where the zip starts in <see cref="File"/>, and its length.</summary>
    public long Offset { get; }
    public long Length { get; }
    public IReadOnlyList<ZipMember> Members { get; }

    TorchZip(string file, long offset, long length, IReadOnlyList<ZipMember> members, RangeReader read)
    {
        _read = read;
        File = file;
        Offset = offset;
        Length = length;
        Members = members;
        _byName = members.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    public ZipMember? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// The bytes of a small record (data.pkl, byteorder, version), read as metadata and checked against its
    /// CRC-32; stored or deflated. Tensor storages are never read this way.
    /// </summary>
    const long MaxInflation = 64;

    public byte[] ReadAll(ZipMember member, long maxBytes = 1L << 30)
    {
        if (member.Size > maxBytes || member.CompressedSize > maxBytes)
            throw new CheckpointFormatException(FormatErrorReason.TooLarge, File, null,
                $"member '{member.Name}' is {member.Size} bytes, more than the {maxBytes}-byte limit for metadata");
        // Deflate can expand 1032:1, which makes a 64 KB data.pkl a 64 MB allocation. torch.save stores every
        // record uncompressed; a re-zipped pickle shrinks a few times. So a deflated record may claim 1 MiB, or
        // 64 times its deflated bytes, and no more: memory stays a small multiple of the file.
        long maxInflated = member.CompressedSize * MaxInflation + (1L << 20);
        if (member.Method == 8 && member.Size > maxInflated)
            throw Invalid(File, $"member '{member.Name}' claims {member.Size} bytes from {member.CompressedSize} deflated bytes, more than {MaxInflation}:1",
                $"≤ {maxInflated}", member.Size.ToString());
        var raw = new byte[member.CompressedSize];
        _read(member.DataOffset - Offset, raw);
        byte[] data;
        if (member.Method == 0) data = raw;
        else if (member.Method == 8)
        {
            data = new byte[member.Size];
            try
            {
                using var inflate = new System.IO.Compression.DeflateStream(new MemoryStream(raw), System.IO.Compression.CompressionMode.Decompress);
                inflate.ReadExactly(data);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                throw Invalid(File, $"member '{member.Name}' does not inflate to its {member.Size} bytes ({e.Message.TrimEnd('.')})");
            }
        }
        else throw Invalid(File, $"member '{member.Name}' uses compression method {member.Method}", "0 (stored) or 8 (deflate)", member.Method.ToString());
        if (data.Length != member.Size)
            throw Invalid(File, $"member '{member.Name}' is stored with sizes that differ", member.Size.ToString(), data.Length.ToString());
        var crc = System.IO.Hashing.Crc32.HashToUInt32(data);
        if (crc != member.Crc32)
            throw new CheckpointFormatException(FormatErrorReason.ChecksumMismatch, File, null,
                $"member '{member.Name}' fails its CRC-32 check", member.Crc32.ToString("x8"), crc.ToString("x8"));
        return data;
    }

    /// <summary>Reads the directory of the zip at [offset, offset+length) of <paramref name="file"/> (to the end when length is null).</summary>
    public static TorchZip Open(ICheckpointStorage storage, string file, long offset = 0, long? length = null)
    {
        long fileLength = storage.Length(file);
        long len = length ?? fileLength - offset;
        if (offset < 0 || len < 0 || offset + len > fileLength)
            throw new CheckpointFormatException(FormatErrorReason.ZipInvalid, file, null,
                $"the zip range [{offset}, {offset + len}) is outside the file", expected: $"≤ {fileLength}", found: $"{offset + len}");
        return Parse(file, offset, len, (at, dest) => storage.Read(file, offset + at, dest, IoCategory.Metadata));
    }

    /// <summary>Reads the directory of a zip held in memory (a decoded DCP payload); offsets are into <paramref name="bytes"/>.</summary>
    public static TorchZip Open(byte[] bytes, string displayName) =>
        Parse(displayName, 0, bytes.Length, (at, dest) => bytes.AsSpan(checked((int)at), dest.Length).CopyTo(dest));

    delegate void RangeReader(long relativeOffset, Span<byte> destination);

    static TorchZip Parse(string file, long offset, long length, RangeReader read)
    {
        if (length < EocdSize) throw Invalid(file, "the range is too short to be a zip", $"≥ {EocdSize} bytes", $"{length} bytes");

        // End of central directory: 22 bytes plus a comment of up to 64 KiB, at the very end.
        int tailLength = (int)Math.Min(length, EocdSize + MaxComment + 20);
        var tail = new byte[tailLength];
        read(length - tailLength, tail);
        int eocd = -1;
        for (int i = tailLength - EocdSize; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == EocdSignature
                && i + EocdSize + BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(i + 20)) == tailLength)
            { eocd = i; break; }
        if (eocd < 0) throw Invalid(file, "no end-of-central-directory record was found", "PK\\x05\\x06 near the end", "none");
        long eocdPos = length - tailLength + eocd;
        var e = tail.AsSpan(eocd);
        long entries = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
        long cdEnd = eocdPos;

        // A ZIP64 locator may precede the end record even when nothing overflows (PyTorch always writes one).
        bool overflow = entries == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF;
        Span<byte> loc = stackalloc byte[20];
        bool hasLocator = false;
        if (eocdPos >= 20)
        {
            read(eocdPos - 20, loc);
            hasLocator = BinaryPrimitives.ReadUInt32LittleEndian(loc) == Zip64LocatorSignature;
        }
        if (overflow && !hasLocator)
            throw Invalid(file, "the end record overflows but no ZIP64 locator precedes it");
        if (hasLocator)
        {
            // Like zipfile, the ZIP64 record is looked for just before the locator (offsets may be biased).
            long z64Pos = eocdPos - 20 - 56;
            if (z64Pos < 0) throw Invalid(file, "the ZIP64 end record lies outside the range", "56 bytes before the locator", $"{eocdPos - 20}");
            Span<byte> rec = stackalloc byte[56];
            read(z64Pos, rec);
            if (BinaryPrimitives.ReadUInt32LittleEndian(rec) != Zip64EocdSignature)
                throw Invalid(file, "the ZIP64 end record has a bad signature");
            entries = ClampU64(BinaryPrimitives.ReadUInt64LittleEndian(rec[32..]));
            cdSize = ClampU64(BinaryPrimitives.ReadUInt64LittleEndian(rec[40..]));
            cdOffset = ClampU64(BinaryPrimitives.ReadUInt64LittleEndian(rec[48..]));
            cdEnd = z64Pos;
        }

        if (cdSize > cdEnd || cdSize > MaxCentralDirectory)
            throw Invalid(file, "the central directory is larger than the zip", $"≤ {Math.Min(cdEnd, MaxCentralDirectory)} bytes", $"{cdSize} bytes");
        long cdStart = cdEnd - cdSize;
        // Offsets are relative to the zip's first byte; a zip appended after other bytes has them all shifted.
        long bias = cdStart - cdOffset;
        if (bias < 0) throw Invalid(file, "the central directory offset lies past its end record", $"≤ {cdStart}", cdOffset.ToString());
        if (entries > cdSize / 46)
            throw Invalid(file, $"the directory claims {entries} entries but has room for {cdSize / 46}");

        var cd = new byte[cdSize];
        read(cdStart, cd);
        var members = new List<ZipMember>((int)entries);
        var names = new HashSet<string>(StringComparer.Ordinal);
        int p = 0;
        for (long n = 0; n < entries; n++)
        {
            if (p + 46 > cd.Length || BinaryPrimitives.ReadUInt32LittleEndian(cd.AsSpan(p)) != CentralSignature)
                throw Invalid(file, $"central directory entry {n} is malformed at byte {cdStart + p}");
            var h = cd.AsSpan(p);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            if (p + 46 + nameLen + extraLen + commentLen > cd.Length)
                throw Invalid(file, $"central directory entry {n} runs past the directory");
            var nameBytes = h.Slice(46, nameLen);
            var name = Encoding.UTF8.GetString(nameBytes);
            var extra = h.Slice(46 + nameLen, extraLen);
            ReadZip64Extra(file, name, extra, ref size, ref compressed, ref localOffset);
            CheckName(file, name);
            if (!names.Add(name)) throw Invalid(file, $"member '{name}' appears twice");
            members.Add(new ZipMember(name, bias + localOffset, -1, compressed, size, method, crc));
            p += 46 + nameLen + extraLen + commentLen;
        }

        // Local headers: the data starts after 30 bytes, the name and the local extra field (torch pads it to
        // align). Only the 30 fixed bytes are needed; neighbouring headers are read together.
        foreach (var m in members)
            if (m.HeaderOffset < 0 || m.HeaderOffset + 30 > cdStart)
                throw Invalid(file, $"member '{m.Name}' has its local header outside the zip", $"< {cdStart}", m.HeaderOffset.ToString());
        var resolved = new ZipMember[members.Count];
        SmallRangeReads.Read(members.Select(m => (m.HeaderOffset, 30)).ToArray(), (at, dest) => read(at, dest.Span), (i, header) =>
        {
            var m = members[i];
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LocalSignature)
                throw Invalid(file, $"member '{m.Name}' has no local header at byte {m.HeaderOffset}");
            int ln = BinaryPrimitives.ReadUInt16LittleEndian(header[26..]);
            int le = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
            long dataStart = m.HeaderOffset + 30 + ln + le;
            if (dataStart > cdStart || m.CompressedSize > cdStart - dataStart)
                throw Invalid(file, $"member '{m.Name}' has data [{dataStart}, {dataStart + m.CompressedSize}) past the central directory",
                    $"≤ {cdStart}", (dataStart + m.CompressedSize).ToString());
            resolved[i] = m with { DataOffset = offset + dataStart };
        });
        return new TorchZip(file, offset, length, resolved, read);
    }

    static long ClampU64(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;

    static void ReadZip64Extra(string file, string name, ReadOnlySpan<byte> extra, ref long size, ref long compressed, ref long localOffset)
    {
        if (size != 0xFFFFFFFF && compressed != 0xFFFFFFFF && localOffset != 0xFFFFFFFF) return;
        int i = 0;
        while (i + 4 <= extra.Length)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra[i..]);
            int len = BinaryPrimitives.ReadUInt16LittleEndian(extra[(i + 2)..]);
            if (i + 4 + len > extra.Length) break;
            if (id == 0x0001)
            {
                var d = extra.Slice(i + 4, len);
                int q = 0;
                // Only the fields that overflowed are present, in this order.
                if (size == 0xFFFFFFFF) { size = Next(d, ref q); }
                if (compressed == 0xFFFFFFFF) { compressed = Next(d, ref q); }
                if (localOffset == 0xFFFFFFFF) { localOffset = Next(d, ref q); }
                return;
            }
            i += 4 + len;
        }
        throw Invalid(file, $"member '{name}' has overflowing sizes but no ZIP64 extra field");

        long Next(ReadOnlySpan<byte> d, ref int q)
        {
            if (q + 8 > d.Length) throw Invalid(file, $"member '{name}' has a short ZIP64 extra field");
            var v = ClampU64(BinaryPrimitives.ReadUInt64LittleEndian(d[q..]));
            q += 8;
            return v;
        }
    }

    static void CheckName(string file, string name)
    {
        if (name.Length == 0 || name.StartsWith('/') || name.Contains('\\') || name.Contains('\0') || name.Contains(':')
            || name.Split('/').Any(s => s == ".."))
            throw new CheckpointFormatException(FormatErrorReason.ZipInvalid, file, null,
                $"member name '{name}' is absolute or leaves the archive", expected: "a relative name without '..'", found: name);
    }

    static CheckpointFormatException Invalid(string file, string detail, string? expected = null, string? found = null) =>
        new(FormatErrorReason.ZipInvalid, file, null, detail, expected, found);
}

/// <summary>
/// One zip member. <see cref="DataOffset"/> is absolute in the zip's file (for an in-memory zip, in its bytes);
/// <see cref="HeaderOffset"/> is relative to the zip's start.
/// </summary>
public sealed record ZipMember(string Name, long HeaderOffset, long DataOffset, long CompressedSize, long Size, int Method, uint Crc32)
{
    public bool IsStored => Method == 0 && CompressedSize == Size;
}
