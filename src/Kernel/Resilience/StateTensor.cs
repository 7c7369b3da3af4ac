using System.Runtime.InteropServices;

namespace Ckpt.Resilience;

/// <summary>
/// A live tensor of training state that a checkpointer can copy out while the loop is paused: a TorchSharp
/// tensor (any device), a plain array, or raw bytes. Copies are row-major little-endian in <see cref="DType"/>.
/// </summary>
public abstract class StateTensor(string name, DType dtype, long[] shape, long byteLength)
{
    public string Name { get; } = name;
    public DType DType { get; } = dtype;
    public long[] Shape { get; } = shape;
    public long ByteLength { get; } = byteLength;

    /// <summary>Copies the current bytes into <paramref name="destination"/> (exactly <see cref="ByteLength"/> long).</summary>
    public abstract void CopyTo(Span<byte> destination);

    /// <summary>Overwrites the live tensor with <paramref name="source"/> (exactly <see cref="ByteLength"/> long), e.g. on resume.</summary>
    public abstract void Restore(ReadOnlySpan<byte> source);

    /// <summary>The live bytes without a copy, where they are host memory (used by synchronous saves only).</summary>
    public virtual bool TryBorrow(out ReadOnlyMemory<byte> bytes)
    {
        bytes = default;
        return false;
    }

    public static StateTensor FromArray<T>(string name, DType dtype, T[] values, params long[] shape) where T : unmanaged =>
        new ArrayState<T>(name, dtype, values, shape.Length == 0 ? [values.LongLength] : shape);

    public static StateTensor FromBytes(string name, DType dtype, Memory<byte> bytes, params long[] shape) =>
        new ArrayState<byte>(name, dtype, bytes, shape);

    public static StateTensor FromTorch(string name, torch.Tensor tensor) => new TorchState(name, tensor);

    sealed class ArrayState<T> : StateTensor where T : unmanaged
    {
        readonly Memory<T> _values;

        public ArrayState(string name, DType dtype, Memory<T> values, long[] shape)
            : base(name, dtype, shape, (long)values.Length * Marshal.SizeOf<T>())
        {
            if (dtype.ByteCount(Manifest.Shapes.ElementCount(shape)) != ByteLength)
                throw new ArgumentException($"{name}: shape [{string.Join(",", shape)}] of {dtype} needs {dtype.ByteCount(Manifest.Shapes.ElementCount(shape))} bytes, the buffer has {ByteLength}");
            _values = values;
        }

        public override void CopyTo(Span<byte> destination) => MemoryMarshal.AsBytes(_values.Span).CopyTo(destination);

        public override void Restore(ReadOnlySpan<byte> source) => source.CopyTo(MemoryMarshal.AsBytes(_values.Span));

        public override bool TryBorrow(out ReadOnlyMemory<byte> bytes)
        {
            if (typeof(T) == typeof(byte)) { bytes = (Memory<byte>)(object)_values; return true; }
            if (MemoryMarshal.TryGetArray<T>(_values, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length)
            {
                bytes = new ByteView<T>(segment.Array).Memory;
                return true;
            }
            bytes = default;
            return false;
        }
    }

    sealed class TorchState(string name, torch.Tensor tensor)
        : StateTensor(name, ToDType(tensor.dtype), tensor.shape, tensor.NumberOfElements * tensor.ElementSize)
    {
        public override void CopyTo(Span<byte> destination)
        {
            using var _ = torch.no_grad();
            if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
            {
                tensor.bytes.CopyTo(destination);
                return;
            }
            using var scope = torch.NewDisposeScope();
            tensor.to(DeviceType.CPU).contiguous().bytes.CopyTo(destination);
        }

        public override void Restore(ReadOnlySpan<byte> source)
        {
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var host = torch.empty(tensor.shape, tensor.dtype);
            source.CopyTo(host.bytes);
            tensor.copy_(host);
        }

        static DType ToDType(torch.ScalarType t) => t switch
        {
            torch.ScalarType.Float32 => DType.F32,
            torch.ScalarType.Float64 => DType.F64,
            torch.ScalarType.Float16 => DType.F16,
            torch.ScalarType.BFloat16 => DType.BF16,
            torch.ScalarType.Int64 => DType.I64,
            torch.ScalarType.Int32 => DType.I32,
            torch.ScalarType.Int16 => DType.I16,
            torch.ScalarType.Int8 => DType.I8,
            torch.ScalarType.Byte => DType.U8,
            torch.ScalarType.Bool => DType.BOOL,
            _ => throw new NotSupportedException($"tensor dtype {t} cannot be checkpointed"),
        };
    }

    /// <summary>A byte view of an unmanaged array without copying it.</summary>
    sealed class ByteView<T>(T[] array) : System.Buffers.MemoryManager<byte> where T : unmanaged
    {
        GCHandle _pin;
        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan());
        public override unsafe System.Buffers.MemoryHandle Pin(int elementIndex = 0)
        {
            if (!_pin.IsAllocated) _pin = GCHandle.Alloc(array, GCHandleType.Pinned);
            return new System.Buffers.MemoryHandle((byte*)_pin.AddrOfPinnedObject() + elementIndex);
        }
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { if (_pin.IsAllocated) _pin.Free(); }
    }
}
