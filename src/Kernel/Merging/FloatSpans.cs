using System.Runtime.InteropServices;

namespace Ckpt.Merging;

/// <summary>Bulk little-endian decode to float32 and encode from it, for the dtypes merges work in.</summary>
internal static class FloatSpans
{
    public static void Decode(DType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("merging needs a little-endian machine");
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case DType.BF16:
            {
                var u = MemoryMarshal.Cast<byte, ushort>(source);
                for (int i = 0; i < u.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(u[i] << 16);
                break;
            }
            case DType.F16:
            {
                var h = MemoryMarshal.Cast<byte, Half>(source);
                for (int i = 0; i < h.Length; i++) destination[i] = (float)h[i];
                break;
            }
            case DType.F64:
            {
                var d = MemoryMarshal.Cast<byte, double>(source);
                for (int i = 0; i < d.Length; i++) destination[i] = (float)d[i];
                break;
            }
            default:
            {
                var d = ElementConversion.ToDoubles(dtype, source, destination.Length);
                for (int i = 0; i < d.Length; i++) destination[i] = (float)d[i];
                break;
            }
        }
    }

    public static void Encode(ReadOnlySpan<float> source, DType dtype, Span<byte> destination)
    {
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.Cast<float, byte>(source).CopyTo(destination);
                break;
            case DType.BF16:
            {
                var u = MemoryMarshal.Cast<byte, ushort>(destination);
                for (int i = 0; i < source.Length; i++) u[i] = ElementConversion.SingleToBFloat16(source[i]);
                break;
            }
            case DType.F16:
            {
                var h = MemoryMarshal.Cast<byte, Half>(destination);
                for (int i = 0; i < source.Length; i++) h[i] = (Half)source[i];
                break;
            }
            case DType.F64:
            {
                var d = MemoryMarshal.Cast<byte, double>(destination);
                for (int i = 0; i < source.Length; i++) d[i] = source[i];
                break;
            }
            default:
                throw new CheckpointFormatException(FormatErrorReason.Unsupported, null, null,
                    $"merged tensors can be written as F32, BF16, F16 or F64, not {dtype}");
        }
    }

    public static bool CanEncode(DType dtype) => dtype is DType.F32 or DType.BF16 or DType.F16 or DType.F64;
}
