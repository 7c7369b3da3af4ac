namespace Ckpt.Tensors;

/// <summary>Element types, named by their safetensors codes.</summary>
public enum DType
{
    F64, F32, F16, BF16, F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0, F4,
    I64, I32, I16, I8, U64, U32, U16, U8, BOOL, C64, C128,
}

public static class DTypes
{
    /// <summary>Bytes per element; F4 packs two elements per byte and reports 1 (see <see cref="ByteCount"/>).</summary>
    public static int Size(this DType d) => d switch
    {
        DType.F64 or DType.I64 or DType.U64 or DType.C64 => 8,
        DType.C128 => 16,
        DType.F32 or DType.I32 or DType.U32 => 4,
        DType.F16 or DType.BF16 or DType.I16 or DType.U16 => 2,
        _ => 1,
    };

    /// <summary>Bytes needed for <paramref name="numel"/> elements, with overflow checked.</summary>
    public static long ByteCount(this DType d, long numel) =>
        d == DType.F4 ? (numel + 1) / 2 : checked(numel * d.Size());

    public static string Code(this DType d) => d.ToString();

    public static bool TryParseCode(string code, out DType dtype) =>
        Enum.TryParse(code, ignoreCase: false, out dtype) && Enum.IsDefined(dtype) && !int.TryParse(code, out _);

    public static bool IsFloatingPoint(this DType d) => d is DType.F64 or DType.F32 or DType.F16 or DType.BF16
        or DType.F8_E4M3 or DType.F8_E5M2 or DType.F8_E4M3FNUZ or DType.F8_E5M2FNUZ or DType.F8_E8M0 or DType.F4;

    /// <summary>torch dtype attribute names as they appear in pickles (`torch.float32`) and storage classes.</summary>
    public static bool TryFromTorchName(string name, out DType dtype)
    {
        DType? d = name switch
        {
            "float64" or "double" or "DoubleStorage" => DType.F64,
            "float32" or "float" or "FloatStorage" => DType.F32,
            "float16" or "half" or "HalfStorage" => DType.F16,
            "bfloat16" or "BFloat16Storage" => DType.BF16,
            "float8_e4m3fn" => DType.F8_E4M3,
            "float8_e5m2" => DType.F8_E5M2,
            "float8_e4m3fnuz" => DType.F8_E4M3FNUZ,
            "float8_e5m2fnuz" => DType.F8_E5M2FNUZ,
            "float8_e8m0fnu" => DType.F8_E8M0,
            "int64" or "long" or "LongStorage" => DType.I64,
            "int32" or "int" or "IntStorage" => DType.I32,
            "int16" or "short" or "ShortStorage" => DType.I16,
            "int8" or "CharStorage" => DType.I8,
            "uint64" => DType.U64,
            "uint32" => DType.U32,
            "uint16" => DType.U16,
            "uint8" or "ByteStorage" => DType.U8,
            "bool" or "BoolStorage" => DType.BOOL,
            "complex64" or "cfloat" or "ComplexFloatStorage" => DType.C64,
            "complex128" or "cdouble" or "ComplexDoubleStorage" => DType.C128,
            _ => null,
        };
        dtype = d ?? default;
        return d is not null;
    }

    public static string TorchName(this DType d) => d switch
    {
        DType.F64 => "float64", DType.F32 => "float32", DType.F16 => "float16", DType.BF16 => "bfloat16",
        DType.F8_E4M3 => "float8_e4m3fn", DType.F8_E5M2 => "float8_e5m2",
        DType.F8_E4M3FNUZ => "float8_e4m3fnuz", DType.F8_E5M2FNUZ => "float8_e5m2fnuz", DType.F8_E8M0 => "float8_e8m0fnu",
        DType.I64 => "int64", DType.I32 => "int32", DType.I16 => "int16", DType.I8 => "int8",
        DType.U64 => "uint64", DType.U32 => "uint32", DType.U16 => "uint16", DType.U8 => "uint8",
        DType.BOOL => "bool", DType.C64 => "complex64", DType.C128 => "complex128",
        _ => d.ToString().ToLowerInvariant(),
    };

    /// <summary>The legacy typed-storage class torch.save writes for this dtype (`FloatStorage`, ...).</summary>
    public static string TorchStorageClass(this DType d) => d switch
    {
        DType.F64 => "DoubleStorage", DType.F32 => "FloatStorage", DType.F16 => "HalfStorage", DType.BF16 => "BFloat16Storage",
        DType.I64 => "LongStorage", DType.I32 => "IntStorage", DType.I16 => "ShortStorage", DType.I8 => "CharStorage",
        DType.U8 => "ByteStorage", DType.BOOL => "BoolStorage",
        DType.C64 => "ComplexFloatStorage", DType.C128 => "ComplexDoubleStorage",
        _ => "UntypedStorage",
    };
}
