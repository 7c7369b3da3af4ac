namespace Ckpt.Manifest;

/// <summary>
/// Checks every reader's output against the rules the planner relies on, before any tensor byte is read
/// or any buffer allocated: each fragment's box lies inside its tensor, boxes cover the tensor exactly,
/// and every element a fragment's strides can address lies inside its payload, which lies inside its file.
/// One pass over fragments; it is what keeps a hostile header from turning into a huge allocation.
/// </summary>
public static class ManifestValidator
{
    public static void Validate(CheckpointManifest manifest, ICheckpointStorage storage)
    {
        var fileLengths = new Dictionary<string, long>(StringComparer.Ordinal);
        long FileLength(string f)
        {
            if (!fileLengths.TryGetValue(f, out var l)) fileLengths[f] = l = storage.Length(f);
            return l;
        }

        foreach (var t in manifest.Tensors)
        {
            var numel = Shapes.TryElementCount(t.Shape) ?? throw new CheckpointFormatException(FormatErrorReason.InvalidShape,
                t.Fragments.FirstOrDefault()?.Payload.File, t.Name, $"shape {t.ShapeText} is negative or has more than 2^63 elements");
            try { t.DType.ByteCount(numel); }
            catch (OverflowException)
            {
                throw new CheckpointFormatException(FormatErrorReason.InvalidShape, null, t.Name, $"shape {t.ShapeText} × {t.DType} overflows 2^63 bytes");
            }
            long covered = 0;
            foreach (var f in t.Fragments)
            {
                var file = f.Payload.File;
                if (f.Offsets.Count != t.Rank || f.Lengths.Count != t.Rank || (f.Payload.IsRaw && f.Strides.Count != t.Rank))
                    throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, t.Name,
                        $"a fragment has rank {f.Lengths.Count} but the tensor has rank {t.Rank}");
                for (int d = 0; d < t.Rank; d++)
                    if (f.Offsets[d] < 0 || f.Lengths[d] < 0 || f.Offsets[d] > t.Shape[d] - f.Lengths[d])
                        throw new CheckpointFormatException(FormatErrorReason.OffsetOutOfBounds, file, t.Name,
                            $"a fragment at offsets {Shapes.Format(f.Offsets)} with lengths {Shapes.Format(f.Lengths)} lies outside shape {t.ShapeText}");
                var volume = Shapes.TryElementCount(f.Lengths) ?? throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, t.Name, "a fragment's volume overflows");
                covered = checked(covered + volume);
                if (f.Payload.Offset < 0 || f.Payload.Length < 0 || f.Payload.Offset > FileLength(file) - f.Payload.Length)
                    throw new CheckpointFormatException(FormatErrorReason.OffsetOutOfBounds, file, t.Name,
                        $"its bytes [{f.Payload.Offset}, {f.Payload.Offset + f.Payload.Length}) lie outside the file of {FileLength(file)} bytes");
                if (!f.Payload.IsRaw || volume == 0) continue;
                // Highest element index the strides can reach, then its byte end.
                long last = f.StorageOffset;
                for (int d = 0; d < t.Rank; d++)
                {
                    if (f.Strides[d] < 0)
                        throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, t.Name, $"stride {f.Strides[d]} is negative");
                    last = checked(last + (f.Lengths[d] - 1) * f.Strides[d]);
                }
                long end = checked(t.DType.ByteCount(last + 1));
                if (f.StorageOffset < 0 || end > f.Payload.Length)
                    throw new CheckpointFormatException(FormatErrorReason.OffsetOutOfBounds, file, t.Name,
                        $"its strides address {end} bytes but its storage holds {f.Payload.Length}",
                        expected: $"≤ {f.Payload.Length} bytes", found: $"{end} bytes");
            }
            if (covered != numel)
                throw new CheckpointFormatException(FormatErrorReason.ChunksDoNotCoverTensor, t.Fragments.FirstOrDefault()?.Payload.File, t.Name,
                    $"its fragments hold {covered} elements but shape {t.ShapeText} has {numel}", expected: numel.ToString(), found: covered.ToString());
        }
    }
}
