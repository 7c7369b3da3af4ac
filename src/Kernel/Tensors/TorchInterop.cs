namespace Ckpt.Tensors;

/// <summary>
/// Moves tensors between <see cref="TensorData"/> (native bytes as saved) and TorchSharp.
/// Bytes are copied in chunks of at most <see cref="ChunkBytes"/> because TorchSharp exposes a tensor's
/// memory only as a <see cref="Span{T}"/>, which cannot reach past 2 GB.
/// </summary>
public static class TorchInterop
{
    internal static long ChunkBytes { get; set; } = 1L << 30;

    /// <summary>The TorchSharp element type that holds <paramref name="dtype"/> bit for bit, if there is one.</summary>
    public static bool TryGetScalarType(DType dtype, out ScalarType scalarType)
    {
        ScalarType? s = dtype switch
        {
            DType.F64 => ScalarType.Float64, DType.F32 => ScalarType.Float32,
            DType.F16 => ScalarType.Float16, DType.BF16 => ScalarType.BFloat16,
            DType.I64 => ScalarType.Int64, DType.I32 => ScalarType.Int32, DType.I16 => ScalarType.Int16,
            DType.I8 => ScalarType.Int8, DType.U8 => ScalarType.Byte, DType.BOOL => ScalarType.Bool,
            DType.C64 => ScalarType.ComplexFloat32, DType.C128 => ScalarType.ComplexFloat64,
            _ => null,
        };
        scalarType = s ?? default;
        return s is not null;
    }

    public static DType ToDType(ScalarType scalarType) => scalarType switch
    {
        ScalarType.Float64 => DType.F64, ScalarType.Float32 => DType.F32,
        ScalarType.Float16 => DType.F16, ScalarType.BFloat16 => DType.BF16,
        ScalarType.Int64 => DType.I64, ScalarType.Int32 => DType.I32, ScalarType.Int16 => DType.I16,
        ScalarType.Int8 => DType.I8, ScalarType.Byte => DType.U8, ScalarType.Bool => DType.BOOL,
        ScalarType.ComplexFloat32 => DType.C64, ScalarType.ComplexFloat64 => DType.C128,
        _ => throw new CheckpointFormatException(FormatErrorReason.Unsupported, null, null,
            $"torch {scalarType} tensors have no checkpoint dtype"),
    };

    /// <summary>
    /// A torch tensor holding <paramref name="data"/>, in its saved dtype unless <paramref name="dtype"/> asks for
    /// another (bf16/f16 are kept as they are by default). Dtypes TorchSharp lacks are widened: U16 to int32,
    /// U32 to int64, f8 to float32 (or to <paramref name="dtype"/>).
    /// </summary>
    public static Tensor ToTorch(this TensorData data, Device? device = null, ScalarType? dtype = null)
    {
        var shape = data.Shape.ToArray();
        Tensor cpu;
        if (TryGetScalarType(data.DType, out var saved))
        {
            cpu = empty(shape, saved);
            CopyInto(data, cpu);
        }
        else cpu = Widen(data, shape, dtype);

        if ((dtype is null || dtype == cpu.dtype) && (device is null || device.type == DeviceType.CPU)) return cpu;
        using (cpu) return cpu.to(dtype ?? cpu.dtype, device ?? CPU);
    }

    /// <summary>A native copy of <paramref name="tensor"/> (moved to CPU and made contiguous first when needed).</summary>
    public static TensorData ToTensorData(this Tensor tensor, string name = "")
    {
        var dtype = ToDType(tensor.dtype);
        using var scope = NewDisposeScope();
        var cpu = tensor.detach();
        if (cpu.device_type != DeviceType.CPU) cpu = cpu.cpu();
        if (!cpu.is_contiguous()) cpu = cpu.contiguous();
        var result = new TensorData(name, dtype, tensor.shape);
        try
        {
            ForEachChunk(cpu, result, (chunk, offset, length) => chunk.bytes.CopyTo(result.Slice(offset, length)));
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    static void CopyInto(TensorData data, Tensor target) =>
        ForEachChunk(target, data, (chunk, offset, length) => data.Slice(offset, length).CopyTo(chunk.bytes));

    /// <summary>Visits the flat tensor in contiguous pieces of at most <see cref="ChunkBytes"/>.</summary>
    static void ForEachChunk(Tensor contiguous, TensorData data, Action<Tensor, long, int> action)
    {
        long n = data.ElementCount;
        if (n == 0) return;
        int size = data.DType.Size();
        long step = Math.Max(1, Math.Min(ChunkBytes, int.MaxValue) / size);
        using var flat = contiguous.reshape(n);
        for (long start = 0; start < n; start += step)
        {
            long count = Math.Min(step, n - start);
            using var chunk = flat.narrow(0, start, count);
            action(chunk, start * size, checked((int)(count * size)));
        }
    }

    static Tensor Widen(TensorData data, long[] shape, ScalarType? dtype)
    {
        switch (data.DType)
        {
            case DType.U16:
            {
                using var raw = empty(shape, ScalarType.Int16);
                CopyInto(data, raw);
                using var wide = raw.to(ScalarType.Int32);
                return wide.bitwise_and(0xFFFF);
            }
            case DType.U32:
            {
                using var raw = empty(shape, ScalarType.Int32);
                CopyInto(data, raw);
                using var wide = raw.to(ScalarType.Int64);
                return wide.bitwise_and(0xFFFFFFFFL);
            }
            case DType.F8_E4M3 or DType.F8_E5M2:
            {
                // Decoded on the host (ElementConversion): 256 possible values, so a lookup table indexed by the byte.
                var table = new float[256];
                for (int b = 0; b < 256; b++) table[b] = ElementConversion.ToFloats(data.DType, [(byte)b], 1)[0];
                using var codes = empty(shape, ScalarType.Byte);
                CopyInto(data, codes);
                using var lut = tensor(table);
                using var idx = codes.to(ScalarType.Int64).reshape(-1);
                using var values = lut.index_select(0, idx).reshape(shape);
                return values.to(dtype is { } d && d.IsFloatingPoint() ? d : ScalarType.Float32);
            }
            default:
                throw new CheckpointFormatException(FormatErrorReason.Unsupported, null, data.Name,
                    $"TorchSharp has no {data.DType} tensors and no lossless widening for them");
        }
    }

    static bool IsFloatingPoint(this ScalarType s) =>
        s is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;
}
