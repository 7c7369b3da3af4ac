namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// The tensors a DeepSpeed reader exposes, gathered piece by piece from rank files, in first-seen order. Two
/// sources under one name, or pieces of one tensor in different dtypes, are MetadataInvalid.
/// </summary>
sealed class ZeroTensorSet
{
    sealed class Pending(string name, IReadOnlyList<long> shape, DType dtype, string file)
    {
        public readonly string Name = name;
        public readonly IReadOnlyList<long> Shape = shape;
        public readonly DType DType = dtype;
        public readonly string File = file;
        public readonly List<Fragment> Fragments = [];
    }

    readonly Dictionary<string, Pending> _byName = new(StringComparer.Ordinal);
    readonly List<Pending> _order = [];

    public bool Contains(string name) => _byName.ContainsKey(name);

    public void Add(TensorEntry entry, string file)
    {
        var p = Start(entry.Name, entry.Shape, entry.DType, file);
        p.Fragments.AddRange(entry.Fragments);
    }

    /// <summary>Elements [paramStart, paramStart + count) of <paramref name="name"/>, held from <paramref name="start"/> of a flat sequence.</summary>
    public void AddFlat(string name, IReadOnlyList<long> shape, FlatSequence sequence, long paramStart, long start, long count)
    {
        foreach (var piece in sequence.Slice(start, count))
        {
            var p = _byName.TryGetValue(name, out var existing) ? existing : Start(name, shape, piece.Part.DType, piece.Part.File);
            if (piece.Part.DType != p.DType)
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, piece.Part.File, name,
                    "the flat partitions of one tensor disagree in dtype", expected: p.DType.ToString(), found: piece.Part.DType.ToString());
            p.Fragments.AddRange(piece.Part.Fragments(shape, paramStart + (piece.Start - start), piece.Count, piece.At));
        }
        if (count == 0 && !_byName.ContainsKey(name) && sequence.Parts.Count > 0)
            Start(name, shape, sequence.Parts[0].DType, sequence.Parts[0].File);
    }

    /// <summary>A second name for a tensor already gathered (DeepSpeed's `shared_params`, tied embeddings).</summary>
    public void Alias(string alias, string source)
    {
        if (!_byName.TryGetValue(source, out var s)) return;
        Start(alias, s.Shape, s.DType, s.File).Fragments.AddRange(s.Fragments);
    }

    public IReadOnlyList<TensorEntry> ToEntries() =>
        _order.Select(p => new TensorEntry(p.Name, p.DType, p.Shape, p.Fragments.ToArray())).ToArray();

    Pending Start(string name, IReadOnlyList<long> shape, DType dtype, string file)
    {
        if (_byName.TryGetValue(name, out var existing))
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, name,
                $"two tensors of the checkpoint take this name (the other from {existing.File})");
        var p = new Pending(name, shape.ToArray(), dtype, file);
        _byName[name] = p;
        _order.Add(p);
        return p;
    }
}
