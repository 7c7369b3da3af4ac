using System.Buffers.Binary;

namespace Ckpt.Conversion;

/// <summary>Casts between floating dtypes (f64, f32, f16, bf16) with torch's rounding (nearest even).</summary>
public static class DTypeConversion
{
    public static bool CanConvert(DType from, DType to) => from == to || (IsCastable(from) && IsCastable(to));

    static bool IsCastable(DType d) => d is DType.F64 or DType.F32 or DType.F16 or DType.BF16;

    public static TensorData Convert(TensorData source, DType to)
    {
        if (source.DType == to) return source;
        if (!CanConvert(source.DType, to))
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, null, source.Name,
                $"casting {source.DType} to {to} is not supported (floating dtypes only)");
        var result = new TensorData(source.Name, to, source.Shape);
        int si = source.DType.Size(), di = to.Size();
        const long chunk = 1 << 20;
        for (long e = 0; e < source.ElementCount; e += chunk)
        {
            long n = Math.Min(chunk, source.ElementCount - e);
            var src = source.Slice(e * si, (int)(n * si));
            var dst = result.Slice(e * di, (int)(n * di));
            for (int i = 0; i < n; i++)
            {
                double v = source.DType switch
                {
                    DType.F64 => BinaryPrimitives.ReadDoubleLittleEndian(src[(i * 8)..]),
                    DType.F32 => BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]),
                    DType.F16 => (double)BinaryPrimitives.ReadHalfLittleEndian(src[(i * 2)..]),
                    _ => ElementConversion.BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(i * 2)..])),
                };
                switch (to)
                {
                    case DType.F64: BinaryPrimitives.WriteDoubleLittleEndian(dst[(i * 8)..], v); break;
                    case DType.F32: BinaryPrimitives.WriteSingleLittleEndian(dst[(i * 4)..], (float)v); break;
                    case DType.F16: BinaryPrimitives.WriteHalfLittleEndian(dst[(i * 2)..], (Half)v); break;
                    default: BinaryPrimitives.WriteUInt16LittleEndian(dst[(i * 2)..], ElementConversion.SingleToBFloat16((float)v)); break;
                }
            }
        }
        source.Dispose();
        return result;
    }
}
