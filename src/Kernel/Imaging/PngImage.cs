using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Ckpt.Imaging;

/// <summary>
/// An 8-bit RGB image read from or written as PNG (RFC 2083 / ISO 15948), with only what .NET ships: zlib from
/// System.IO.Compression and CRC-32 from System.IO.Hashing. Read: bit depth 8, colour type 0 (grey), 2 (RGB),
/// 4 (grey + alpha) or 6 (RGBA; alpha dropped), not interlaced, the five scanline filters. Anything else (16-bit,
/// palette, Adam7, a bad signature, CRC or size) is refused with one sentence naming the file. Written: colour type 2,
/// filter 0 on every row, one IDAT.
/// </summary>
public sealed record PngImage(int Width, int Height, byte[] Rgb)
{
    static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    const int MaxSide = 16384;

    public static PngImage Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such image file", path);
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <exception cref="InvalidDataException">Not a PNG this reader takes; the message names <paramref name="name"/>.</exception>
    public static PngImage Decode(ReadOnlySpan<byte> bytes, string name)
    {
        if (bytes.Length < 8 || !bytes[..8].SequenceEqual(Signature))
            throw Bad(name, "it does not start with the PNG signature");
        int offset = 8, width = 0, height = 0, channels = 0;
        bool sawHeader = false, sawEnd = false;
        using var idat = new MemoryStream();
        while (!sawEnd)
        {
            if (offset + 12 > bytes.Length) throw Bad(name, $"it ends inside a chunk at byte {offset} (truncated)");
            var length = BinaryPrimitives.ReadUInt32BigEndian(bytes[offset..]);
            if (length > int.MaxValue || offset + 12 + (long)length > bytes.Length)
                throw Bad(name, $"a chunk at byte {offset} claims {length} bytes, past the end of the file (truncated)");
            var type = System.Text.Encoding.ASCII.GetString(bytes.Slice(offset + 4, 4));
            var data = bytes.Slice(offset + 8, (int)length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(bytes[(offset + 8 + (int)length)..]);
            if (Crc32.HashToUInt32(bytes.Slice(offset + 4, 4 + (int)length)) != crc)
                throw Bad(name, $"chunk {type} at byte {offset} fails its CRC");
            offset += 12 + (int)length;
            if (!sawHeader && type != "IHDR") throw Bad(name, $"its first chunk is {type}, not IHDR");
            switch (type)
            {
                case "IHDR":
                    if (data.Length != 13) throw Bad(name, $"IHDR holds {data.Length} bytes, not 13");
                    width = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(data), int.MaxValue);
                    height = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(data[4..]), int.MaxValue);
                    if (width is < 1 or > MaxSide || height is < 1 or > MaxSide)
                        throw Bad(name, $"its size {width}x{height} is outside 1..{MaxSide} per side");
                    if (data[8] != 8) throw Bad(name, $"its bit depth is {data[8]}; only 8-bit images are read");
                    channels = data[9] switch
                    {
                        0 => 1, 2 => 3, 4 => 2, 6 => 4,
                        _ => throw Bad(name, $"its colour type is {data[9]} (palette or unknown); grey, RGB and RGBA are read"),
                    };
                    if (data[12] != 0) throw Bad(name, "it is interlaced (Adam7); only non-interlaced images are read");
                    sawHeader = true;
                    break;
                case "IDAT": idat.Write(data); break;
                case "IEND": sawEnd = true; break;
            }
        }
        int stride = width * channels;
        var raw = new byte[(long)(stride + 1) * height];
        try
        {
            idat.Position = 0;
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            int read = 0;
            while (read < raw.Length && z.Read(raw, read, raw.Length - read) is var n and > 0) read += n;
            if (read < raw.Length) throw Bad(name, $"its image data holds {read} bytes, {raw.Length} expected for {width}x{height}");
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(name, StringComparison.Ordinal))
        {
            throw Bad(name, "its image data is not valid zlib");
        }
        var pixels = Unfilter(raw, stride, height, channels, name);
        var rgb = new byte[(long)width * height * 3];
        for (long p = 0; p < (long)width * height; p++)
            for (int c = 0; c < 3; c++)
                rgb[p * 3 + c] = pixels[p * channels + (channels <= 2 ? 0 : c)];
        return new PngImage(width, height, rgb);
    }

    static byte[] Unfilter(byte[] raw, int stride, int height, int bpp, string name)
    {
        var output = new byte[(long)stride * height];
        for (int y = 0; y < height; y++)
        {
            int filter = raw[(long)y * (stride + 1)];
            long src = (long)y * (stride + 1) + 1, dst = (long)y * stride, up = dst - stride;
            for (int x = 0; x < stride; x++)
            {
                int a = x >= bpp ? output[dst + x - bpp] : 0;
                int b = y > 0 ? output[up + x] : 0;
                int c = x >= bpp && y > 0 ? output[up + x - bpp] : 0;
                int predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw Bad(name, $"row {y} uses filter type {filter}; PNG defines 0..4"),
                };
                output[dst + x] = (byte)(raw[src + x] + predictor);
            }
        }
        return output;
    }

    static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    public byte[] Encode()
    {
        using var output = new MemoryStream();
        output.Write(Signature);
        var header = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)Width);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)Height);
        header[8] = 8;
        header[9] = 2;
        WriteChunk(output, "IHDR", header);
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            for (int y = 0; y < Height; y++)
            {
                z.WriteByte(0);
                z.Write(Rgb, y * Width * 3, Width * 3);
            }
        WriteChunk(output, "IDAT", compressed.ToArray());
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        var typed = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typed);
        data.CopyTo(typed, 4);
        output.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.HashToUInt32(typed));
        output.Write(word);
    }

    /// <summary>The image as float32 [1, 3, H, W] in [0, 1] (value / 255), as torchvision's ToTensor gives it.</summary>
    public Tensor ToTensor()
    {
        var floats = new float[Rgb.Length];
        int plane = Width * Height;
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
                floats[c * plane + p] = Rgb[p * 3 + c] / 255f;
        return tensor(floats, [1, 3, Height, Width]);
    }

    /// <summary>An image from a [3, H, W] or [1, 3, H, W] tensor in [0, 1]: clamped, times 255, rounded.</summary>
    public static PngImage FromTensor(Tensor image)
    {
        using var scope = NewDisposeScope();
        var chw = image.dim() == 4 ? image[0] : image;
        if (chw.dim() != 3 || chw.shape[0] != 3) throw new ArgumentException($"an image tensor is [3, H, W], not {string.Join("x", image.shape)}");
        int height = (int)chw.shape[1], width = (int)chw.shape[2];
        var bytes = chw.detach().cpu().to(float32).Within(0, 1).Times(255).round().to(ScalarType.Byte).permute(1, 2, 0).contiguous().data<byte>().ToArray();
        return new PngImage(width, height, bytes);
    }

    static InvalidDataException Bad(string name, string why) => new($"{name}: not a PNG image Ckpt can read: {why}.");
}
