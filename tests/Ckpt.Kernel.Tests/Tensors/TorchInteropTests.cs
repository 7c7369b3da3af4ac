using Ckpt.Errors;
using Ckpt.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Ckpt.Tests.Tensors;

public class TorchInteropTests
{
    public static TheoryData<DType> TorchDTypes => new()
    {
        DType.F64, DType.F32, DType.F16, DType.BF16, DType.I64, DType.I32, DType.I16, DType.I8, DType.U8,
        DType.BOOL, DType.C64, DType.C128,
    };

    static TensorData RandomData(DType dtype, long[] shape, int seed)
    {
        var data = new TensorData("t", dtype, shape);
        var rng = new Random(seed);
        var bytes = data.Bytes;
        rng.NextBytes(bytes);
        int size = dtype.Size();
        for (int i = 0; i < bytes.Length; i += size)
        {
            // Keep floats finite (NaN payloads need not survive a cast) and bools 0/1.
            if (dtype == DType.BOOL) bytes[i] &= 1;
            if (dtype is DType.F16) bytes[i + 1] &= 0x3B;
            if (dtype is DType.BF16) bytes[i + 1] &= 0x3F;
            if (dtype is DType.F32 or DType.C64) for (int j = i; j < i + size; j += 4) bytes[j + 3] &= 0x3F;
            if (dtype is DType.F64 or DType.C128) for (int j = i; j < i + size; j += 8) bytes[j + 7] &= 0x3F;
        }
        return data;
    }

    [Theory, MemberData(nameof(TorchDTypes))]
    public void Every_torch_dtype_round_trips_bit_for_bit(DType dtype)
    {
        using var data = RandomData(dtype, [3, 5, 7], 1);
        using var t = data.ToTorch();
        Assert.Equal(TorchInterop.ToDType(t.dtype), dtype);
        Assert.Equal([3L, 5, 7], t.shape);
        using var back = t.ToTensorData("t");
        Assert.Equal(dtype, back.DType);
        Assert.Equal(data.ToArray(), back.ToArray());
    }

    [Theory]
    [InlineData(DType.F64)]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    [InlineData(DType.I64)]
    [InlineData(DType.I16)]
    [InlineData(DType.U8)]
    public void Values_in_torch_equal_the_decoded_bytes(DType dtype)
    {
        using var data = RandomData(dtype, [4, 6], 2);
        using var t = data.ToTorch();
        using var asDouble = t.to(ScalarType.Float64);
        Assert.Equal(data.ToDoubles(), asDouble.data<double>().ToArray());
    }

    [Fact]
    public void Bf16_is_converted_to_float32_only_on_request()
    {
        using var data = RandomData(DType.BF16, [8], 3);
        using var kept = data.ToTorch();
        using var wide = data.ToTorch(dtype: ScalarType.Float32);
        Assert.Equal(ScalarType.BFloat16, kept.dtype);
        Assert.Equal(ScalarType.Float32, wide.dtype);
        Assert.Equal(data.ToFloats(), wide.data<float>().ToArray());
    }

    [Fact]
    public void Chunked_copies_reassemble_the_whole_tensor()
    {
        var saved = TorchInterop.ChunkBytes;
        try
        {
            TorchInterop.ChunkBytes = 12; // 3 floats a chunk, with a short last chunk
            using var data = RandomData(DType.F32, [5, 7], 4);
            using var t = data.ToTorch();
            using var back = t.ToTensorData();
            Assert.Equal(data.ToArray(), back.ToArray());
            Assert.Equal(data.ToFloats(), t.data<float>().ToArray());
        }
        finally { TorchInterop.ChunkBytes = saved; }
    }

    [Fact]
    public void A_transposed_view_is_saved_in_row_major_order_of_its_shape()
    {
        using var t = arange(6, ScalarType.Float32).reshape(2, 3);
        using var tt = t.t();
        using var data = tt.ToTensorData("tt");
        Assert.Equal([3L, 2], data.Shape);
        Assert.Equal([0f, 3, 1, 4, 2, 5], data.ToFloats());
    }

    [Fact]
    public void Scalars_and_empty_tensors_round_trip()
    {
        using var scalar = new TensorData("s", DType.F32, []);
        BitConverter.TryWriteBytes(scalar.Bytes, 2.5f);
        using var ts = scalar.ToTorch();
        Assert.Equal(0, ts.dim());
        Assert.Equal(2.5f, ts.item<float>());

        using var empty = new TensorData("e", DType.F32, [0, 3]);
        using var te = empty.ToTorch();
        Assert.Equal([0L, 3], te.shape);
        using var back = te.ToTensorData();
        Assert.Equal(0, back.ElementCount);
    }

    [Fact]
    public void Unsigned_and_f8_dtypes_torch_lacks_are_widened_exactly()
    {
        using var u16 = new TensorData("u", DType.U16, [3]);
        u16.Bytes.Clear();
        BitConverter.TryWriteBytes(u16.Slice(0, 2), (ushort)65535);
        BitConverter.TryWriteBytes(u16.Slice(2, 2), (ushort)1);
        using var t16 = u16.ToTorch();
        Assert.Equal(ScalarType.Int32, t16.dtype);
        Assert.Equal([65535, 1, 0], t16.data<int>().ToArray());

        using var u32 = new TensorData("u", DType.U32, [1]);
        BitConverter.TryWriteBytes(u32.Bytes, uint.MaxValue);
        using var t32 = u32.ToTorch();
        Assert.Equal(ScalarType.Int64, t32.dtype);
        Assert.Equal((long)uint.MaxValue, t32.item<long>());

        using var f8 = new TensorData("f", DType.F8_E4M3, [256]);
        for (int b = 0; b < 256; b++) f8.Bytes[b] = (byte)b;
        using var t8 = f8.ToTorch();
        Assert.Equal(ScalarType.Float32, t8.dtype);
        var expected = f8.ToFloats();
        var actual = t8.data<float>().ToArray();
        for (int i = 0; i < 256; i++) Assert.Equal(expected[i], actual[i]);
    }

    [Fact]
    public void A_dtype_with_no_torch_equivalent_is_refused_with_a_typed_reason()
    {
        using var u64 = new TensorData("big", DType.U64, [2]);
        var ex = Assert.Throws<CheckpointFormatException>(() => u64.ToTorch());
        Assert.Equal(FormatErrorReason.Unsupported, ex.Reason);
        Assert.Equal("big", ex.Tensor);
    }
}
