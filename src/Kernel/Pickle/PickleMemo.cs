namespace Ckpt.Pickle;

/// <summary>
/// The unpickler's memo. MEMOIZE (protocol 4) numbers entries 0, 1, 2, ...; those that extend the run from 0
/// live in fixed segments, 8 bytes an entry and nothing copied as the memo grows, so a flood of one-byte
/// MEMOIZEs costs 8 bytes per input byte (a dictionary cost ~76). PUT may name any index up to 2^32: indices
/// off the end of the run live in a dictionary, and never size an array (CPython's C unpickler sizes its memo by
/// the largest index).
/// </summary>
sealed class PickleMemo
{
    const int SegmentSize = 4096;
    readonly List<object?[]> _segments = [];
    readonly Dictionary<long, object?> _sparse = [];
    long _run;

    public long Count => _run + _sparse.Count;

    public bool Contains(long index) => index < _run || _sparse.ContainsKey(index);

    public void Set(long index, object? value)
    {
        if (index < _run) { Slot(index) = value; return; }
        if (index != _run) { _sparse[index] = value; return; }
        Append(value);
        while (_sparse.Remove(_run, out var next)) Append(next);
    }

    public bool TryGet(long index, out object? value)
    {
        if (index < _run) { value = Slot(index); return true; }
        return _sparse.TryGetValue(index, out value);
    }

    void Append(object? value)
    {
        if (_run == (long)_segments.Count * SegmentSize) _segments.Add(new object?[SegmentSize]);
        _run++;
        Slot(_run - 1) = value;
    }

    ref object? Slot(long index) => ref _segments[(int)(index / SegmentSize)][index % SegmentSize];
}
