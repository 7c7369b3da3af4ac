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

        // An exact tiling is settled without comparing chunks; only a layout that is wrong looks for the pair to name.
        var nonEmpty = tensor.Chunks.Where(c => Shapes.ElementCount(c.Sizes) > 0).ToArray();
        bool tiles = DcpChunkTiling.Exact(shape, nonEmpty);
        if (!tiles && DcpChunkOverlap.Find(shape, nonEmpty) is (DcpChunk first, DcpChunk second))
            throw new CheckpointFormatException(FormatErrorReason.OverlappingData, file, fqn,
                $"chunks {Describe(first)} and {Describe(second)} overlap");

        long covered = 0;
        foreach (var c in tensor.Chunks) covered += Shapes.ElementCount(c.Sizes);
        long total = Shapes.ElementCount(shape);
        if (covered != total)
            throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, file, fqn,
                $"the {tensor.Chunks.Count} chunks cover {covered} of the {total} elements of shape {Shapes.Format(shape)}",
                expected: total.ToString(), found: covered.ToString());
        if (!tiles) // as many elements as the shape, yet some twice and others never (a pair too costly to name)
            throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, file, fqn,
                $"the {tensor.Chunks.Count} chunks cover {covered} elements, as many as shape {Shapes.Format(shape)} has, but some twice and others never");
    }

    public static string Describe(DcpChunk c) =>
        "[" + string.Join(", ", c.Offsets.Zip(c.Sizes, (o, l) => $"{o}:{o + l}")) + "]";
}
