namespace Ckpt.Merging;

/// <summary>Keeps merged tensors in memory as float32 (for small models: search loops, tests, notebooks).</summary>
public sealed class MemoryTensorSink : ITensorSink
{
    readonly Dictionary<string, (DType DType, long[] Shape, byte[] Bytes)> _tensors = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Names => _order;
    readonly List<string> _order = [];
    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    public void Write(TensorData tensor)
    {
        _tensors[tensor.Name] = (tensor.DType, tensor.Shape.ToArray(), tensor.ToArray());
        _order.Add(tensor.Name);
    }

    public void Complete(IReadOnlyDictionary<string, string> metadata) => Metadata = metadata;

    public DType DTypeOf(string name) => _tensors[name].DType;
    public IReadOnlyList<long> ShapeOf(string name) => _tensors[name].Shape;
    public byte[] BytesOf(string name) => _tensors[name].Bytes;

    public float[] Floats(string name)
    {
        var (dtype, _, bytes) = _tensors[name];
        var f = new float[bytes.Length / Math.Max(1, dtype.Size())];
        FloatSpans.Decode(dtype, bytes, f);
        return f;
    }
}
