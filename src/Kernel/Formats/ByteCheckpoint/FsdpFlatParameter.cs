using Ckpt.Pickle;

namespace Ckpt.Formats.ByteCheckpoint;

/// <summary>One parameter inside an FSDP flat parameter: its name, shape and first element in the flat tensor.</summary>
internal sealed record FsdpFlatMember(string Name, IReadOnlyList<long> Shape, long FlatStart)
{
    public long ElementCount => Shapes.ElementCount(Shape);
}

/// <summary>
/// An FSDP (use_orig_params) flat parameter as ByteCheckpoint records it in `user_defined_dict` when saving with
/// save_decomposed_model_optimizer (bytecheckpoint/planner/fsdp/fsdp_hack.py): the 1-D `&lt;prefix&gt;_flat_param` is
/// the unit's parameters in order with alignment padding entries between them (`fsdp_numels_with_padding`,
/// `fsdp_is_padding_mask`), and `fsdp_flat_param_to_fqns` / `fsdp_shapes` name and shape the non-padding entries.
/// Ranks save [r·shard, r·shard + valid) of it, so a shard cuts parameters at arbitrary elements.
/// </summary>
internal sealed record FsdpFlatParameter(string Key, IReadOnlyList<FsdpFlatMember> Members, long ElementCount)
{
    public const string FlatParam = "_flat_param";

    /// <summary>
    /// The parameter's full name as ByteCheckpoint's merge tool builds it (utilities/ckpt_format/fsdp_ckpt_utils.py):
    /// the flat key without `_flat_param`, then the fqn minus its longest prefix that ends that stem
    /// (`layers.0.` + `.scale` gives `layers.0.scale`).
    /// </summary>
    public static string MemberName(string key, string fqn)
    {
        var stem = key.Replace(FlatParam, "", StringComparison.Ordinal);
        int overlap = 0;
        for (int i = 1; i <= Math.Min(stem.Length, fqn.Length); i++)
            if (fqn.StartsWith(stem[^i..], StringComparison.Ordinal)) overlap = i;
        return stem + fqn[overlap..];
    }

    /// <summary>Every flat parameter described in a `user_defined_dict`; none when it has no FSDP metadata.</summary>
    public static Dictionary<string, FsdpFlatParameter> Read(string file, object? userDefined)
    {
        var result = new Dictionary<string, FsdpFlatParameter>(StringComparer.Ordinal);
        if (userDefined is not PyDict dict || dict.Get("fsdp_flat_param_to_fqns") is not PyDict fqns) return result;
        PyDict Table(string name) => dict.Get(name) as PyDict
            ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, null,
                $"user_defined_dict has fsdp_flat_param_to_fqns but no {name} dict");
        var masks = Table("fsdp_is_padding_mask");
        var numels = Table("fsdp_numels_with_padding");
        var shapes = Table("fsdp_shapes");
        foreach (var (k, v) in fqns)
        {
            if (k is not string key) continue;
            var names = List(file, key, "fsdp_flat_param_to_fqns", v).Select(x => x as string
                ?? throw Invalid(file, key, $"fsdp_flat_param_to_fqns holds {PyRepr.Of(x)}, not a name")).ToArray();
            var mask = List(file, key, "fsdp_is_padding_mask", masks.Get(key)).Select(x => x is true).ToArray();
            var counts = List(file, key, "fsdp_numels_with_padding", numels.Get(key)).Select(x => Long(x)
                ?? throw Invalid(file, key, $"fsdp_numels_with_padding holds {PyRepr.Of(x)}, not a count")).ToArray();
            var dims = List(file, key, "fsdp_shapes", shapes.Get(key)).Select(x => Shape(x)
                ?? throw Invalid(file, key, $"fsdp_shapes holds {PyRepr.Of(x)}, not a torch.Size")).ToArray();
            int real = mask.Count(m => !m);
            if (mask.Length != counts.Length || real != names.Length || real != dims.Length)
                throw Invalid(file, key, $"its FSDP metadata disagrees: {counts.Length} numels and {mask.Length} padding flags, {real} of them parameters, for {names.Length} names and {dims.Length} shapes",
                    $"{names.Length} parameters", $"{real}");
            var members = new List<FsdpFlatMember>();
            long at = 0;
            for (int i = 0, p = 0; i < counts.Length; i++)
            {
                if (counts[i] < 0) throw Invalid(file, key, $"fsdp_numels_with_padding holds {counts[i]}");
                if (!mask[i])
                {
                    var member = new FsdpFlatMember(MemberName(key, names[p]), dims[p], at);
                    if (Shapes.TryElementCount(member.Shape) != counts[i])
                        throw Invalid(file, key, $"parameter '{member.Name}' has shape {Shapes.Format(member.Shape)} but {counts[i]} flat elements",
                            counts[i].ToString(), Shapes.TryElementCount(member.Shape)?.ToString() ?? "overflow");
                    members.Add(member);
                    p++;
                }
                at = checked(at + counts[i]);
            }
            result[key] = new FsdpFlatParameter(key, members, at);
        }
        return result;
    }

    /// <summary>
    /// One tensor per member, named by <paramref name="name"/>, whose fragments are the flat fragments' ranges cut at the
    /// member's bounds and re-expressed as N-d boxes (at most 2·rank − 1 per cut) over the same bytes: no copy.
    /// Fragments are checked first: inside the flat tensor (OffsetOutOfBounds) and not overlapping (OverlappingData).
    /// </summary>
    public IEnumerable<TensorEntry> Split(TensorEntry flat, Func<FsdpFlatMember, string> name, string file)
    {
        if (flat.Rank != 1 || flat.Shape[0] != ElementCount)
            throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, flat.Name,
                $"the flat parameter has shape {flat.ShapeText} but its FSDP metadata adds up to {ElementCount} elements",
                expected: $"[{ElementCount}]", found: flat.ShapeText);
        foreach (var f in flat.Fragments)
            if (f.Offsets.Count != 1 || f.Lengths.Count != 1 || f.Strides.Count != 1)
                throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, flat.Name,
                    $"a shard of the 1-d flat parameter has {f.Lengths.Count}-d sizes", expected: "1 dimension", found: $"{f.Lengths.Count}");
        var sorted = flat.Fragments.Where(f => f.Lengths[0] > 0).OrderBy(f => f.Offsets[0]).ToArray();
        for (int i = 0; i < sorted.Length; i++)
        {
            if (sorted[i].Offsets[0] < 0 || sorted[i].Offsets[0] + sorted[i].Lengths[0] > ElementCount)
                throw new CheckpointFormatException(FormatErrorReason.OffsetOutOfBounds, file, flat.Name,
                    $"shard [{Range(sorted[i])}) lies outside the {ElementCount} flat elements");
            if (i > 0 && sorted[i].Offsets[0] < sorted[i - 1].Offsets[0] + sorted[i - 1].Lengths[0])
                throw new CheckpointFormatException(FormatErrorReason.OverlappingData, file, flat.Name,
                    $"shards [{Range(sorted[i - 1])}) (rank {sorted[i - 1].WriterRank}) and [{Range(sorted[i])}) (rank {sorted[i].WriterRank}) overlap",
                    expected: $"a shard starting at or after {sorted[i - 1].Offsets[0] + sorted[i - 1].Lengths[0]}", found: sorted[i].Offsets[0].ToString());
        }
        foreach (var m in Members)
        {
            var strides = Shapes.ContiguousStrides(m.Shape);
            var fragments = new List<Fragment>();
            foreach (var f in sorted)
            {
                long s = Math.Max(f.Offsets[0], m.FlatStart), e = Math.Min(f.Offsets[0] + f.Lengths[0], m.FlatStart + m.ElementCount);
                if (e <= s) continue;
                var boxes = new List<(long[] Offsets, long[] Lengths)>();
                Boxes(s - m.FlatStart, e - m.FlatStart, m.Shape, 0, new long[m.Shape.Count], new long[m.Shape.Count], boxes);
                foreach (var (offsets, lengths) in boxes)
                    checked
                    {
                        long start = 0;
                        for (int d = 0; d < offsets.Length; d++) start += offsets[d] * strides[d];
                        long inChunk = m.FlatStart + start - f.Offsets[0];
                        fragments.Add(f with
                        {
                            Offsets = offsets,
                            Lengths = lengths,
                            Strides = strides.Select(x => x * f.Strides[0]).ToArray(),
                            StorageOffset = f.StorageOffset + inChunk * f.Strides[0],
                        });
                    }
            }
            yield return new TensorEntry(name(m), flat.DType, m.Shape, fragments);
        }
    }

    /// <summary>The row-major element range [a, b) of a tensor of <paramref name="shape"/> (from dim on) as N-d boxes.</summary>
    static void Boxes(long a, long b, IReadOnlyList<long> shape, int dim, long[] off, long[] len, List<(long[], long[])> into)
    {
        if (a >= b) return;
        if (dim == shape.Count) { into.Add((off.ToArray(), len.ToArray())); return; }
        long inner = 1;
        for (int d = dim + 1; d < shape.Count; d++) inner *= shape[d];
        long ra = a / inner, oa = a % inner, rb = b / inner, ob = b % inner;
        void Row(long row, long from, long to)
        {
            off[dim] = row;
            len[dim] = 1;
            Boxes(from, to, shape, dim + 1, off, len, into);
        }
        if (ra == rb) { Row(ra, oa, ob); return; }
        if (oa != 0) { Row(ra, oa, inner); ra++; }
        if (rb > ra)
        {
            off[dim] = ra;
            len[dim] = rb - ra;
            for (int d = dim + 1; d < shape.Count; d++) { off[d] = 0; len[d] = shape[d]; }
            into.Add((off.ToArray(), len.ToArray()));
        }
        if (ob != 0) Row(rb, 0, ob);
    }

    static string Range(Fragment f) => $"{f.Offsets[0]}, {f.Offsets[0] + f.Lengths[0]}";

    static IReadOnlyList<object?> List(string file, string key, string table, object? value) => value switch
    {
        PyList l => l,
        PyTuple t => t,
        _ => throw Invalid(file, key, $"{table} has {PyRepr.Of(value)} for it, not a list"),
    };

    static IReadOnlyList<long>? Shape(object? value)
    {
        if (value is PyObject { Class.Name: "Size" } size && size.Args.Count == 1) value = size.Args[0];
        if (value is not IEnumerable<object?> items || value is string) return null;
        var dims = new List<long>();
        foreach (var x in items)
            if (Long(x) is { } l && l >= 0) dims.Add(l); else return null;
        return dims;
    }

    static long? Long(object? value) => value switch
    {
        long l => l,
        int i => i,
        System.Numerics.BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        _ => null,
    };

    static CheckpointFormatException Invalid(string file, string key, string detail, string? expected = null, string? found = null) =>
        new(FormatErrorReason.MetadataInvalid, file, key, detail, expected, found);
}
