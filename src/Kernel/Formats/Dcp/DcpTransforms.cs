using ZstdSharp;

namespace Ckpt.Formats.Dcp;

/// <summary>
/// DCP stream transforms (`_StorageInfo.transform_descriptors`, torch ≥ 2.7 `_extension.py`): descriptors are
/// `name[/version]`; the writer lists them in reverse order of wrapping, so the last one is the outermost
/// encoding and is undone first. Known: `stream.zstd/1` (a zstandard stream) and `stream.rot13/1` (torch's
/// test transform). Decoding stops at a byte cap so a small compressed payload cannot expand without bound.
/// </summary>
internal static class DcpTransforms
{
    public static bool IsSupported(string descriptor)
    {
        var (name, version) = Split(descriptor);
        return name is "stream.zstd" or "stream.rot13" && version.Split('.')[0] == "1";
    }

    public static void CheckSupported(string file, string fqn, IReadOnlyList<string> descriptors)
    {
        foreach (var d in descriptors)
            if (!IsSupported(d))
                throw new CheckpointFormatException(FormatErrorReason.UnsupportedTransform, file, fqn,
                    $"the item is encoded with transform '{d}', which this reader does not know",
                    expected: "stream.zstd/1", found: d);
    }

    /// <summary>Undoes <paramref name="descriptors"/> on <paramref name="encoded"/>, refusing output larger than <paramref name="maxBytes"/>.</summary>
    public static byte[] Decode(byte[] encoded, IReadOnlyList<string> descriptors, long maxBytes, string file, string fqn)
    {
        CheckSupported(file, fqn, descriptors);
        var data = encoded;
        for (int i = descriptors.Count - 1; i >= 0; i--)
        {
            var (name, _) = Split(descriptors[i]);
            data = name == "stream.zstd" ? Unzstd(data, maxBytes, file, fqn) : Rot13(data);
        }
        return data;
    }

    static (string Name, string Version) Split(string descriptor)
    {
        int slash = descriptor.IndexOf('/');
        return slash < 0 ? (descriptor, "0") : (descriptor[..slash], descriptor[(slash + 1)..]);
    }

    static byte[] Unzstd(byte[] input, long maxBytes, string file, string fqn)
    {
        try
        {
            // Decoded into pieces (64 KiB growing to 1 MiB) and joined once: a stream that stops at the cap has cost
            // about the cap, not the 3x of a doubling MemoryStream and its final copy.
            using var zstd = new DecompressionStream(new MemoryStream(input, writable: false));
            var pieces = new List<byte[]>();
            long total = 0;
            while (true)
            {
                var piece = new byte[(int)Math.Min(Math.Min(FirstPiece << Math.Min(pieces.Count, 4), Piece), maxBytes - total + 1)];
                int filled = 0, n;
                while (filled < piece.Length && (n = zstd.Read(piece, filled, piece.Length - filled)) > 0) filled += n;
                total += filled;
                if (total > maxBytes)
                    throw new CheckpointFormatException(FormatErrorReason.TooLarge, file, fqn,
                        $"the zstd stream of {input.Length} bytes decodes to more than the {maxBytes} bytes the item can need",
                        expected: $"≤ {maxBytes} bytes", found: $"> {maxBytes} bytes");
                pieces.Add(filled == piece.Length ? piece : piece[..filled]);
                if (filled < piece.Length) break;
            }
            var output = new byte[total];
            long at = 0;
            foreach (var p in pieces) { p.CopyTo(output, at); at += p.Length; }
            return output;
        }
        catch (Exception e) when (e is ZstdException or IOException or EndOfStreamException or InvalidDataException)
        {
            throw new CheckpointFormatException(FormatErrorReason.TransformFailed, file, fqn,
                $"the zstd stream of {input.Length} bytes cannot be decoded ({e.Message.TrimEnd('.')})", inner: e);
        }
    }

    const int FirstPiece = 64 << 10, Piece = 1 << 20;

    static byte[] Rot13(byte[] input)
    {
        var output = new byte[input.Length];
        for (int i = 0; i < input.Length; i++)
        {
            byte c = input[i];
            // torch's Rot13Example swaps letter case rather than rotating; undoing it is the same swap.
            output[i] = c is >= (byte)'A' and <= (byte)'Z' ? (byte)(c + 32) : c is >= (byte)'a' and <= (byte)'z' ? (byte)(c - 32) : c;
        }
        return output;
    }
}
