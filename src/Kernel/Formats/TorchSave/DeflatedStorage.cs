using System.IO.Compression;
using Ckpt.Planning;

namespace Ckpt.Formats.TorchSave;

/// <summary>
/// A storage member that is deflated (zip method 8) rather than stored. torch.save never compresses storages, but
/// writers built on a general zip library do: TorchSharp.PyBridge's `save_py` creates every entry with .NET's
/// `ZipArchive` default, deflate, and torch.load (miniz) inflates them. Such a storage cannot be read in place, so its
/// payload is the compressed range with the transform `zip.deflate/&lt;size&gt;/&lt;crc32&gt;`, undone whole on read;
/// the inflated bytes must be exactly the member's size and match its CRC-32 (ChecksumMismatch otherwise).
/// </summary>
internal sealed class DeflatedStorage : IPayloadDecoder
{
    const string Name = "zip.deflate";

    /// <summary>Deflate turns one compressed byte into at most 1,032 (258-byte matches in 2-bit codes); a member stating more lies.</summary>
    const long MaxInflationRatio = 1032;

    /// <exception cref="CheckpointFormatException">ZipInvalid: the member states more bytes than deflate can make of its compressed ones, so
    /// no buffer is ever sized from a size the file's own length cannot back (cost stays linear in the input).</exception>
    public static Payload Payload(string file, ZipMember member)
    {
        if (member.Size > MaxInflationRatio * member.CompressedSize + 64)
            throw new CheckpointFormatException(FormatErrorReason.ZipInvalid, file, null,
                string.Create(CultureInfo.InvariantCulture,
                    $"zip member '{member.Name}' states {member.Size} inflated bytes from {member.CompressedSize} deflated ones, more than deflate can produce (at most {MaxInflationRatio} to 1)"));
        return new(file, member.DataOffset, member.CompressedSize,
            [string.Create(CultureInfo.InvariantCulture, $"{Name}/{member.Size}/{member.Crc32:x8}")]);
    }

    public bool CanDecode(Payload payload) => payload.Transforms is [var d] && Parse(d) is not null;

    public DecodedPayload Decode(ICheckpointStorage storage, Fragment fragment, TensorEntry tensor, CancellationToken cancellationToken)
    {
        var p = fragment.Payload;
        var (size, crc) = Parse(p.Transforms![0])!.Value;
        var deflated = new byte[p.Length];
        storage.Read(p.File, p.Offset, deflated, IoCategory.Tensor);
        cancellationToken.ThrowIfCancellationRequested();
        var data = new byte[size];
        int filled = 0;
        try
        {
            using var inflate = new DeflateStream(new MemoryStream(deflated, writable: false), CompressionMode.Decompress);
            for (int n; filled < data.Length && (n = inflate.Read(data, filled, data.Length - filled)) > 0;) filled += n;
            if (filled == data.Length && inflate.ReadByte() >= 0) filled++;
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(FormatErrorReason.ZipInvalid, p.File, tensor.Name,
                $"the deflated storage does not inflate ({e.Message.TrimEnd('.')})");
        }
        if (filled != size)
            throw new CheckpointFormatException(FormatErrorReason.ByteLengthMismatch, p.File, tensor.Name,
                "the deflated storage inflates to a different size than its zip entry states",
                expected: $"{size} bytes", found: filled > size ? $"more than {size} bytes" : $"{filled} bytes");
        var actual = System.IO.Hashing.Crc32.HashToUInt32(data);
        if (actual != crc)
            throw new CheckpointFormatException(FormatErrorReason.ChecksumMismatch, p.File, tensor.Name,
                "the inflated storage fails its zip entry's CRC-32 check", crc.ToString("x8"), actual.ToString("x8"));
        return new DecodedPayload(data, fragment.Strides, fragment.StorageOffset);
    }

    static (int Size, uint Crc)? Parse(string descriptor)
    {
        var parts = descriptor.Split('/');
        return parts.Length == 3 && parts[0] == Name
               && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
               && uint.TryParse(parts[2], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var crc)
            ? (size, crc) : null;
    }
}
