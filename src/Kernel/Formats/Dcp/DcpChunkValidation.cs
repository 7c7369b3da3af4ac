using Ckpt.Errors;
using Ckpt.Manifest;

namespace Ckpt.Formats.Dcp;

/// <summary>
/// The checks DCP itself makes before writing `.metadata` (`default_planner.py::_validate_global_plan`):
/// every chunk has the tensor's rank and lies inside the global shape, no two chunks overlap, and the chunks
/// together cover every element.
/// </summary>
internal static class DcpChunkValidation
{
    public static void Check(string file, string fqn, DcpTensorItem tensor)
    {
        var shape = tensor.Shape;
        foreach (var c in tensor.Chunks)
        {
            if (c.Offsets.Count != shape.Count || c.Sizes.Count != shape.Count)
                throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, fqn,
                    $"a chunk has {c.Offsets.Count}-d offsets and {c.Sizes.Count}-d sizes for a {shape.Count}-d tensor",
                    expected: $"{shape.Count} dimensions", found: $"{c.Offsets.Count} and {c.Sizes.Count}");
            for (int d = 0; d < shape.Count; d++)
                if (c.Offsets[d] < 0 || c.Sizes[d] < 0 || c.Offsets[d] + c.Sizes[d] > shape[d])
                    throw new CheckpointFormatException(FormatErrorReason.OffsetOutOfBounds, file, fqn,
                        $"chunk {Describe(c)} lies outside the global shape {Shapes.Format(shape)} in dimension {d}",
                        expected: $"within [0, {shape[d]})", found: $"[{c.Offsets[d]}, {c.Offsets[d] + c.Sizes[d]})");
        }

        // Sweep along dimension 0 so only chunks whose first-dim ranges meet are compared pairwise.
        var sorted = tensor.Chunks.Where(c => Shapes.ElementCount(c.Sizes) > 0)
            .OrderBy(c => shape.Count == 0 ? 0 : c.Offsets[0]).ToArray();
        for (int i = 0; i < sorted.Length; i++)
            for (int j = i + 1; j < sorted.Length; j++)
            {
                if (shape.Count > 0 && sorted[j].Offsets[0] >= sorted[i].Offsets[0] + sorted[i].Sizes[0]) break;
                if (Overlap(sorted[i], sorted[j]))
                    throw new CheckpointFormatException(FormatErrorReason.OverlappingData, file, fqn,
                        $"chunks {Describe(sorted[i])} and {Describe(sorted[j])} overlap");
            }

        long covered = 0;
        foreach (var c in tensor.Chunks) covered += Shapes.ElementCount(c.Sizes);
        long total = Shapes.ElementCount(shape);
        if (covered != total)
            throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, file, fqn,
                $"the {tensor.Chunks.Count} chunks cover {covered} of the {total} elements of shape {Shapes.Format(shape)}",
                expected: total.ToString(), found: covered.ToString());
    }

    static bool Overlap(DcpChunk a, DcpChunk b)
    {
        for (int d = 0; d < a.Offsets.Count; d++)
            if (Math.Max(a.Offsets[d], b.Offsets[d]) >= Math.Min(a.Offsets[d] + a.Sizes[d], b.Offsets[d] + b.Sizes[d]))
                return false;
        return true;
    }

    public static string Describe(DcpChunk c) =>
        "[" + string.Join(", ", c.Offsets.Zip(c.Sizes, (o, l) => $"{o}:{o + l}")) + "]";
}
