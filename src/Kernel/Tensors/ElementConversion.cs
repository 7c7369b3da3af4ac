using System.Buffers.Binary;

namespace Ckpt.Tensors;

/// <summary>Little-endian element decoding, including the narrow float formats (bf16, f16, f8).</summary>
public static class ElementConversion
{
    public static float[] ToFloats(DType dtype, ReadOnlySpan<byte> bytes, long count)
    {
        var d = ToDoubles(dtype, bytes, count);
        var f = new float[d.Length];
        for (int i = 0; i < d.Length; i++) f[i] = (float)d[i];
        return f;
    }

    public static double[] ToDoubles(DType dtype, ReadOnlySpan<byte> b, long count)
    {
        var r = new double[checked((int)count)];
        int s = dtype.Size();
        for (int i = 0; i < r.Length; i++)
        {
            var e = b.Slice(i * s, s);
            r[i] = dtype switch
            {
                DType.F64 => BinaryPrimitives.ReadDoubleLittleEndian(e),
                DType.F32 => BinaryPrimitives.ReadSingleLittleEndian(e),
                DType.F16 => (double)BinaryPrimitives.ReadHalfLittleEndian(e),
                DType.BF16 => BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(e)),
                DType.F8_E4M3 => F8E4M3ToSingle(e[0]),
                DType.F8_E5M2 => (double)BitConverter.UInt16BitsToHalf((ushort)(e[0] << 8)),
                DType.I64 => BinaryPrimitives.ReadInt64LittleEndian(e),
                DType.I32 => BinaryPrimitives.ReadInt32LittleEndian(e),
                DType.I16 => BinaryPrimitives.ReadInt16LittleEndian(e),
                DType.I8 => (sbyte)e[0],
                DType.U64 => BinaryPrimitives.ReadUInt64LittleEndian(e),
                DType.U32 => BinaryPrimitives.ReadUInt32LittleEndian(e),
                DType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(e),
                DType.U8 => e[0],
                DType.BOOL => e[0] != 0 ? 1 : 0,
                _ => throw new CheckpointFormatException(FormatErrorReason.Unsupported, null, null,
                    $"converting {dtype} elements to numbers is not supported"),
            };
        }
        return r;
    }

    public static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Round-to-nearest-even, as torch does when casting float32 to bfloat16.</summary>
    public static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>OCP FP8 E4M3 (fn: no infinities, S.1111.111 is NaN), bias 7.</summary>
    public static float F8E4M3ToSingle(byte v)
    {
        int sign = (v & 0x80) != 0 ? -1 : 1;
        int exp = (v >> 3) & 0xF;
        int man = v & 0x7;
        if (exp == 0xF && man == 0x7) return float.NaN;
        if (exp == 0) return sign * MathF.ScaleB(man / 8f, -6);
        return sign * MathF.ScaleB(1 + man / 8f, exp - 7);
    }
}
