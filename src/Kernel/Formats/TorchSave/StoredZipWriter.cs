using System.Buffers.Binary;
using System.IO.Hashing;

namespace Ckpt.Formats.TorchSave;

/// <summary>
/// Writes a zip of stored (uncompressed) records the way PyTorch's `PyTorchStreamWriter` lays them out: each
/// record's data starts on a 64-byte boundary, counted from the start of the archive, by padding the local
/// header's extra field with an `FB` block of 'Z' bytes (caffe2 `inline_container.cc`, kFieldAlignment).
/// Offsets are relative to where the archive starts in <see cref="Stream"/>, so an archive can be embedded in a
/// larger file (a DCP `.distcp`). ZIP64 fields appear only when a size or offset needs them.
/// </summary>
public sealed class StoredZipWriter
{
    public const int Alignment = 64;
    const uint Max32 = 0xFFFFFFFF;

    readonly Stream _stream;
    readonly long _base;
    readonly List<(byte[] Name, uint Crc, long Size, long HeaderOffset)> _entries = [];
    bool _finished;

    public StoredZipWriter(Stream stream)
    {
        _stream = stream;
        _base = stream.Position;
    }

    long Cursor => _stream.Position - _base;

    public void Add(string name, byte[] data) => Add(name, data.Length, Crc32.HashToUInt32(data), s => s.Write(data));

    public void Add(string name, string text) => Add(name, Encoding.UTF8.GetBytes(text));

    /// <summary>A record whose <paramref name="size"/> bytes (with CRC-32 <paramref name="crc"/>) <paramref name="write"/> streams.</summary>
    public void Add(string name, long size, uint crc, WriteData write)
    {
        if (_finished) throw new InvalidOperationException("the archive is finished");
        var nameBytes = Encoding.UTF8.GetBytes(name);
        long headerOffset = Cursor;
        bool zip64 = size >= Max32;
        int zip64Extra = zip64 ? 4 + 16 : 0;
        long start = headerOffset + 30 + nameBytes.Length + zip64Extra + 4;
        int padding = (int)((Alignment - start % Alignment) % Alignment);

        Span<byte> h = stackalloc byte[30];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], zip64 ? (ushort)45 : (ushort)20);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 0x0800); // UTF-8 names
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], 0);      // stored
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h[12..], 0x21);  // 1980-01-01, as torch writes
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], zip64 ? Max32 : (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], zip64 ? Max32 : (uint)size);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)(zip64Extra + 4 + padding));
        _stream.Write(h);
        _stream.Write(nameBytes);
        if (zip64)
        {
            Span<byte> z = stackalloc byte[20];
            BinaryPrimitives.WriteUInt16LittleEndian(z, 0x0001);
            BinaryPrimitives.WriteUInt16LittleEndian(z[2..], 16);
            BinaryPrimitives.WriteInt64LittleEndian(z[4..], size);
            BinaryPrimitives.WriteInt64LittleEndian(z[12..], size);
            _stream.Write(z);
        }
        Span<byte> fb = stackalloc byte[4];
        fb[0] = (byte)'F'; fb[1] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(fb[2..], (ushort)padding);
        _stream.Write(fb);
        for (int i = 0; i < padding; i++) _stream.WriteByte((byte)'Z');

        long dataStart = _stream.Position;
        write(_stream);
        if (_stream.Position - dataStart != size)
            throw new InvalidOperationException($"record '{name}' wrote {_stream.Position - dataStart} bytes, declared {size}");
        _entries.Add((nameBytes, crc, size, headerOffset));
    }

    /// <summary>Writes the central directory and end records. The stream is left open.</summary>
    public void Finish()
    {
        if (_finished) return;
        _finished = true;
        long cdStart = Cursor;
        Span<byte> c = stackalloc byte[46];
        Span<byte> z = stackalloc byte[28];
        foreach (var (name, crc, size, offset) in _entries)
        {
            bool bigSize = size >= Max32, bigOffset = offset >= Max32;
            int extraLen = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
            c.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(c, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(c[4..], extraLen > 0 ? (ushort)45 : (ushort)20);
            BinaryPrimitives.WriteUInt16LittleEndian(c[6..], extraLen > 0 ? (ushort)45 : (ushort)20);
            BinaryPrimitives.WriteUInt16LittleEndian(c[8..], 0x0800);
            BinaryPrimitives.WriteUInt16LittleEndian(c[10..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(c[12..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(c[14..], 0x21);
            BinaryPrimitives.WriteUInt32LittleEndian(c[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(c[20..], bigSize ? Max32 : (uint)size);
            BinaryPrimitives.WriteUInt32LittleEndian(c[24..], bigSize ? Max32 : (uint)size);
            BinaryPrimitives.WriteUInt16LittleEndian(c[28..], (ushort)name.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(c[30..], (ushort)extraLen);
            BinaryPrimitives.WriteUInt32LittleEndian(c[42..], bigOffset ? Max32 : (uint)offset);
            _stream.Write(c);
            _stream.Write(name);
            if (extraLen > 0)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(z, 0x0001);
                BinaryPrimitives.WriteUInt16LittleEndian(z[2..], (ushort)(extraLen - 4));
                int at = 4;
                if (bigSize) { BinaryPrimitives.WriteInt64LittleEndian(z[at..], size); BinaryPrimitives.WriteInt64LittleEndian(z[(at + 8)..], size); at += 16; }
                if (bigOffset) { BinaryPrimitives.WriteInt64LittleEndian(z[at..], offset); at += 8; }
                _stream.Write(z[..at]);
            }
        }
        long cdEnd = Cursor, cdSize = cdEnd - cdStart;
        bool zip64 = _entries.Count >= 0xFFFF || cdStart >= Max32 || cdSize >= Max32 || _entries.Any(e => e.Size >= Max32 || e.HeaderOffset >= Max32);
        if (zip64)
        {
            Span<byte> e64 = stackalloc byte[56 + 20];
            BinaryPrimitives.WriteUInt32LittleEndian(e64, 0x06064b50);
            BinaryPrimitives.WriteInt64LittleEndian(e64[4..], 44);
            BinaryPrimitives.WriteUInt16LittleEndian(e64[12..], 45);
            BinaryPrimitives.WriteUInt16LittleEndian(e64[14..], 45);
            BinaryPrimitives.WriteInt64LittleEndian(e64[24..], _entries.Count);
            BinaryPrimitives.WriteInt64LittleEndian(e64[32..], _entries.Count);
            BinaryPrimitives.WriteInt64LittleEndian(e64[40..], cdSize);
            BinaryPrimitives.WriteInt64LittleEndian(e64[48..], cdStart);
            BinaryPrimitives.WriteUInt32LittleEndian(e64[56..], 0x07064b50);
            BinaryPrimitives.WriteInt64LittleEndian(e64[64..], cdEnd);
            BinaryPrimitives.WriteUInt32LittleEndian(e64[72..], 1);
            _stream.Write(e64);
        }
        Span<byte> eocd = stackalloc byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(eocd, 0x06054b50);
        ushort count = (ushort)Math.Min(_entries.Count, 0xFFFF);
        BinaryPrimitives.WriteUInt16LittleEndian(eocd[8..], count);
        BinaryPrimitives.WriteUInt16LittleEndian(eocd[10..], count);
        BinaryPrimitives.WriteUInt32LittleEndian(eocd[12..], zip64 ? Max32 : (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(eocd[16..], zip64 ? Max32 : (uint)cdStart);
        _stream.Write(eocd);
    }

    public delegate void WriteData(Stream stream);
}
