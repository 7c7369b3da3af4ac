namespace Ckpt.Models;

/// <summary>
/// The keys and values every attention layer has computed so far (HF's past_key_values), so that decoding one more
/// token runs the model on that token only. Keys are stored after RoPE and before GQA's repeat_kv, [batch, kvHeads,
/// seen, headDim], as HF's DynamicCache stores them.
/// </summary>
public sealed class KeyValueCache : IDisposable
{
    readonly LayerKeyValues[] _layers;

    public KeyValueCache(int layers) => _layers = Enumerable.Range(0, layers).Select(_ => new LayerKeyValues()).ToArray();

    /// <summary>Tokens already in the cache: the position the next token takes.</summary>
    public long Length => _layers.Length == 0 ? 0 : _layers[0].Length;

    public LayerKeyValues this[int layer] => _layers[layer];

    public void Dispose()
    {
        foreach (var l in _layers) l.Dispose();
    }
}

/// <summary>One layer's cached keys and values; null until its first forward.</summary>
public sealed class LayerKeyValues : IDisposable
{
    Tensor? _keys, _values;

    public long Length => _keys?.shape[2] ?? 0;

    /// <summary>Appends this step's keys and values [batch, kvHeads, new, headDim]; returns the whole sequence's.</summary>
    internal (Tensor Keys, Tensor Values) Append(Tensor keys, Tensor values)
    {
        var k = _keys is null ? keys.detach().clone() : cat([_keys, keys.detach()], 2);
        var v = _values is null ? values.detach().clone() : cat([_values, values.detach()], 2);
        _keys?.Dispose();
        _values?.Dispose();
        _keys = k.DetachFromDisposeScope();
        _values = v.DetachFromDisposeScope();
        return (_keys.alias(), _values.alias());
    }

    public void Dispose()
    {
        _keys?.Dispose();
        _values?.Dispose();
        _keys = _values = null;
    }
}
