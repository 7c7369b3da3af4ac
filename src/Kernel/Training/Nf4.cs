namespace Ckpt.Training;

/// <summary>
/// bitsandbytes' 4-bit NormalFloat quantization (functional.py `quantize_4bit`, quant_type "nf4"), with its double
/// quantization of the block absmax (`compress_statistics=True`):
/// <list type="number">
/// <item>Flatten row-major; blocks of 64 (a short last block gets its own absmax); absmax in fp32.</item>
/// <item>x/absmax clamped to [−1, 1]; the code is the nearest of the 16 NF4 values by the 15 midpoints compared with
/// strict &gt;, so a tie goes to the lower index.</item>
/// <item>Two codes a byte: element 2i in the high nibble, 2i+1 in the low nibble.</item>
/// <item>Double quantization: offset = mean(absmax); (absmax − offset) in blocks of 256, each scaled by its own fp32
/// absmax and stored as the index of the nearest entry of the signed 8-bit dynamic map.</item>
/// </list>
/// A block whose absmax is 0 is all zeros; it is stored as code 7 (0.0) rather than the NaN a division would give.
/// </summary>
public static class Nf4
{
    /// <summary>The NF4 code (bitsandbytes get_4bit_type("nf4")). Shipped as constants, as bnb does.</summary>
    public static readonly float[] Code =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
        -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
        0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    /// <summary>bnb `create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)`: 256 sorted values in [−1, 1].</summary>
    public static float[] DynamicMap()
    {
        var data = new List<float>(256);
        for (int i = 0; i < 7; i++)
        {
            int fractionItems = (1 << i) + 1;
            using var boundaries = linspace(0.1, 1, fractionItems, ScalarType.Float32);
            using var means = boundaries.narrow(0, 0, fractionItems - 1).Plus(boundaries.narrow(0, 1, fractionItems - 1)).Over(2.0);
            float scale = (float)Math.Pow(10, -6 + i);
            foreach (var m in means.data<float>().ToArray())
            {
                data.Add(scale * m);
                data.Add(-scale * m);
            }
        }
        data.Add(0f);
        data.Add(1f);
        data.Sort();
        return data.ToArray();
    }

    static readonly Lazy<float[]> Dynamic = new(DynamicMap);

    public static Nf4Tensor Quantize(Tensor weight, int blockSize = 64, bool doubleQuant = true, int nestedBlockSize = 256)
    {
        if (blockSize < 32 || blockSize > 4096 || (blockSize & (blockSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(blockSize), "bitsandbytes allows power-of-two blocks from 32 to 4096");
        using var scope = NewDisposeScope();
        var device = weight.device;
        long n = weight.numel();
        var (codes, absmax) = BlockQuantize(weight.detach().reshape(n).to(ScalarType.Float32), blockSize, Code);
        var codes4 = codes.to(ScalarType.Byte);
        if (n % 2 == 1) codes4 = cat([codes4, zeros(1, ScalarType.Byte, device)]);
        var pairs = codes4.view(-1, 2);
        var packed = pairs.select(1, 0).bitwise_left_shift(tensor(4, ScalarType.Byte, device)).bitwise_or(pairs.select(1, 1));

        if (!doubleQuant)
            return new Nf4Tensor(packed.MoveToOuterDisposeScope(), absmax.MoveToOuterDisposeScope(), null, null, 0f,
                weight.shape, weight.dtype, blockSize, nestedBlockSize);

        float offset = absmax.mean().item<float>();
        var (q, nested) = BlockQuantize(absmax.Minus(offset), nestedBlockSize, Dynamic.Value);
        return new Nf4Tensor(packed.MoveToOuterDisposeScope(), null, q.to(ScalarType.Byte).MoveToOuterDisposeScope(),
            nested.MoveToOuterDisposeScope(), offset, weight.shape, weight.dtype, blockSize, nestedBlockSize);
    }

    /// <summary>Nearest-code indices (int64 [n]) of x scaled by its block's absmax, and the absmax per block (fp32).</summary>
    static (Tensor Codes, Tensor Absmax) BlockQuantize(Tensor flat, int blockSize, float[] code)
    {
        using var scope = NewDisposeScope();
        long n = flat.shape[0], blocks = (n + blockSize - 1) / blockSize;
        var padded = blocks * blockSize == n ? flat : cat([flat, zeros(blocks * blockSize - n, ScalarType.Float32, flat.device)]);
        var grid = padded.view(blocks, blockSize);
        var absmax = grid.abs().amax([1]);
        var safe = absmax.FilledWhere(absmax.EqualTo(0.0), 1.0);
        var scaled = grid.div(safe.unsqueeze(1)).Within(-1.0, 1.0);
        var mids = new float[code.Length - 1];
        for (int i = 0; i < mids.Length; i++) mids[i] = (code[i] + code[i + 1]) / 2f;
        // bucketize(right=false) counts the midpoints strictly below x: the strict > comparison, ties to the lower code.
        var codes = bucketize(scaled, tensor(mids, device: flat.device), false, false).reshape(-1).narrow(0, 0, n);
        return (codes.MoveToOuterDisposeScope(), absmax.MoveToOuterDisposeScope());
    }

    internal static Tensor CodeTensor(Device device) => tensor(Code, device: device);
    internal static Tensor DynamicTensor(Device device) => tensor(Dynamic.Value, device: device);
}

/// <summary>A weight stored as NF4 codes (two a byte) with block absmax, optionally double-quantized.</summary>
public sealed class Nf4Tensor : IDisposable
{
    public Tensor Packed { get; }
    /// <summary>fp32 absmax per block when not double-quantized.</summary>
    public Tensor? Absmax { get; }
    /// <summary>Dynamic-map index per block of (absmax − offset) when double-quantized.</summary>
    public Tensor? QuantizedAbsmax { get; }
    /// <summary>fp32 scale per nested block of 256 absmax values.</summary>
    public Tensor? NestedAbsmax { get; }
    public float Offset { get; }
    public long[] Shape { get; }
    public ScalarType DType { get; }
    public int BlockSize { get; }
    public int NestedBlockSize { get; }
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    internal Nf4Tensor(Tensor packed, Tensor? absmax, Tensor? quantizedAbsmax, Tensor? nestedAbsmax, float offset,
        long[] shape, ScalarType dtype, int blockSize, int nestedBlockSize)
    {
        Packed = packed;
        Absmax = absmax;
        QuantizedAbsmax = quantizedAbsmax;
        NestedAbsmax = nestedAbsmax;
        Offset = offset;
        Shape = shape;
        DType = dtype;
        BlockSize = blockSize;
        NestedBlockSize = nestedBlockSize;
    }

    /// <summary>Bytes this representation keeps: packed codes, absmax (or its codes + nested scales + offset).</summary>
    public long StorageBytes => Packed.numel() + (Absmax is not null ? Absmax.numel() * 4
        : QuantizedAbsmax!.numel() + NestedAbsmax!.numel() * 4 + 4);

    /// <summary>The absmax of each block, recovered from the double quantization when there is one.</summary>
    public Tensor BlockAbsmax()
    {
        if (Absmax is not null) return Absmax.alias();
        using var scope = NewDisposeScope();
        var dyn = Nf4.DynamicTensor(Packed.device);
        var values = dyn.index_select(0, QuantizedAbsmax!.to(ScalarType.Int64));
        var scales = NestedAbsmax!.repeat_interleave(NestedBlockSize).narrow(0, 0, values.shape[0]);
        return values.mul(scales).Plus(Offset).MoveToOuterDisposeScope();
    }

    /// <summary>W = code[idx] · absmax[block] in fp32, then cast to <paramref name="dtype"/> (default: the original dtype).</summary>
    public Tensor Dequantize(ScalarType? dtype = null)
    {
        using var scope = NewDisposeScope();
        long n = ElementCount;
        var hi = Packed.bitwise_right_shift(tensor(4, ScalarType.Byte, Packed.device));
        var lo = Packed.bitwise_and(tensor(15, ScalarType.Byte, Packed.device));
        var idx = stack([hi, lo], 1).reshape(-1).narrow(0, 0, n).to(ScalarType.Int64);
        var values = Nf4.CodeTensor(Packed.device).index_select(0, idx);
        var scales = BlockAbsmax().repeat_interleave(BlockSize).narrow(0, 0, n);
        return values.mul(scales).reshape(Shape).to(dtype ?? DType).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Packed.Dispose();
        Absmax?.Dispose();
        QuantizedAbsmax?.Dispose();
        NestedAbsmax?.Dispose();
    }
}
