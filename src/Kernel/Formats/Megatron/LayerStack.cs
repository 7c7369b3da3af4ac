using System.Text.RegularExpressions;

namespace Ckpt.Formats.Megatron;

/// <summary>
/// A Megatron-Core layer stack: dist_checkpointing saves every homogeneous layer's parameter once, under the name
/// without a layer number (`decoder.layers.self_attention.linear_qkv.weight`), with a prepended axis of length
/// num_layers (`prepend_axis_num`, formats.md §5.2). <see cref="Split"/> presents layer i as its own tensor
/// `decoder.layers.{i}.self_attention.linear_qkv.weight` whose fragments are the stacked fragments' boxes cut at
/// layer i: the payload stays the same byte range, the storage offset moves by i·stride₀ and the leading axis is
/// dropped, so nothing is copied and a one-layer read touches only that layer's bytes.
/// </summary>
internal static partial class LayerStack
{
    /// <summary>
    /// The name split at a `layers` segment followed by a non-number (`decoder.layers.` + `mlp.linear_fc1.weight`;
    /// optimizer states `optimizer.state.exp_avg.decoder.layers.` + ...), or null when the name has a layer number
    /// already or no layer stack.
    /// </summary>
    public static (string Head, string Tail)? Parse(string name)
    {
        var m = StackedSegment().Match(name);
        return m.Success ? (name[..(m.Index + m.Length)], name[(m.Index + m.Length)..]) : null;
    }

    public static string LayerName((string Head, string Tail) parts, long layer) => $"{parts.Head}{layer}.{parts.Tail}";

    /// <summary>One tensor per entry of the leading axis.</summary>
    public static IEnumerable<TensorEntry> Split(TensorEntry stacked, (string Head, string Tail) parts)
    {
        var shape = stacked.Shape.Skip(1).ToArray();
        var perLayer = new List<Fragment>[stacked.Shape[0]];
        for (int i = 0; i < perLayer.Length; i++) perLayer[i] = [];
        foreach (var f in stacked.Fragments)
        {
            long first = f.Offsets[0], count = f.Lengths[0];
            if (count == 0) continue;
            // A transformed (zstd) payload's strides come from its own archive when it is decoded, whose shape keeps
            // the layer axis; Megatron never writes those, so they are refused rather than cut.
            if (!f.Payload.IsRaw)
                throw new CheckpointFormatException(FormatErrorReason.Unsupported, f.Payload.File, stacked.Name,
                    $"a {string.Join("+", f.Payload.Transforms!)} chunk of a layer-stacked tensor cannot be cut into layers without decoding it",
                    expected: "raw chunks", found: string.Join("+", f.Payload.Transforms!));
            for (long layer = first; layer < first + count; layer++)
            {
                var cut = f with
                {
                    Offsets = f.Offsets.Skip(1).ToArray(),
                    Lengths = f.Lengths.Skip(1).ToArray(),
                    Strides = f.Strides.Skip(1).ToArray(),
                    StorageOffset = checked(f.StorageOffset + (layer - first) * f.Strides[0]),
                };
                perLayer[layer].Add(cut);
            }
        }
        for (long layer = 0; layer < perLayer.Length; layer++)
            yield return new TensorEntry(LayerName(parts, layer), stacked.DType, shape, perLayer[layer]);
    }

    [GeneratedRegex(@"(^|\.)layers\.(?![0-9]+(\.|$))")]
    private static partial Regex StackedSegment();
}
