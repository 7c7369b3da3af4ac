using System.Runtime.InteropServices;

namespace Ckpt.Tensors;

/// <summary>
/// A materialised tensor (or slice) in native memory: row-major, little-endian, its dtype as saved.
/// Native so that tensors over 2 GB work and can be handed to LibTorch without another copy.
/// </summary>
public sealed unsafe class TensorData : IDisposable
{
    byte* _ptr;
    readonly long _capacity;

    public string Name { get; }
    public DType DType { get; }
    public IReadOnlyList<long> Shape { get; }
    public long ByteLength { get; }
    public long ElementCount { get; }

    public TensorData(string name, DType dtype, IReadOnlyList<long> shape)
    {
        Name = name;
        DType = dtype;
        Shape = shape.ToArray();
        ElementCount = Manifest.Shapes.ElementCount(shape);
        ByteLength = dtype.ByteCount(ElementCount);
        _ptr = NativeBufferPool.Rent(ByteLength, out _capacity);
        GC.AddMemoryPressure(_capacity);
    }

    public nint Pointer => (nint)Ptr;

    byte* Ptr => _ptr != null ? _ptr : throw new ObjectDisposedException(Name);

    /// <summary>A span over [offset, offset+length); length must fit in an int.</summary>
    public Span<byte> Slice(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > ByteLength) throw new ArgumentOutOfRangeException(nameof(offset));
        return new Span<byte>(Ptr + offset, length);
    }

    /// <summary>The bytes as one span; only for tensors under 2 GB.</summary>
    public Span<byte> Bytes => Slice(0, checked((int)ByteLength));

    public byte[] ToArray() => Bytes.ToArray();

    /// <summary>Values widened to float64 (floating and integer dtypes).</summary>
    public double[] ToDoubles() => ElementConversion.ToDoubles(DType, Bytes, ElementCount);

    /// <summary>Values as float32 (floating and integer dtypes).</summary>
    public float[] ToFloats() => ElementConversion.ToFloats(DType, Bytes, ElementCount);

    public void Dispose()
    {
        if (_ptr == null) return;
        NativeBufferPool.Return(_ptr, _capacity);
        _ptr = null;
        GC.RemoveMemoryPressure(_capacity);
        GC.SuppressFinalize(this);
    }

    ~TensorData() { if (_ptr != null) NativeBufferPool.Return(_ptr, _capacity); }
}
