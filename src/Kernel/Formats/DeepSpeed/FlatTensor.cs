using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;
using Ckpt.Resharding;

namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// A 1-D tensor inside a rank file (a ZeRO flat partition, a flat optimizer state, a ZeRO-3 `ds_tensor`): element k
/// lives at <c>StorageOffset + k·Stride</c> of <see cref="Payload"/>, the storage member's bytes in place.
/// </summary>
sealed record FlatTensor(string File, Payload Payload, DType DType, long StorageOffset, long Stride, long Length, int? Rank)
{
    /// <summary>The flat tensor a pickled value holds; anything but a 1-D tensor inside its storage is MetadataInvalid.</summary>
    public static FlatTensor From(object? value, ITorchStorageLocator locator, string what, int? rank)
    {
        if (value is not TorchTensor t || t.Shape.Count != 1)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, locator.File, what,
                "a ZeRO flat partition must be a 1-D tensor", expected: "1-D tensor", found: Describe(value));
        var flat = new FlatTensor(locator.File, locator.Locate(t.Storage), t.Storage.DType, t.StorageOffset, t.Strides[0], t.Shape[0], rank);
        if (!flat.Payload.IsRaw)
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, locator.File, what,
                "a flat partition's storage is compressed, so it cannot be cut in place", expected: "a stored zip member",
                found: string.Join("+", flat.Payload.Transforms!));
        long last = t.Shape[0] == 0 ? -1 : t.StorageOffset + (t.Shape[0] - 1) * t.Strides[0];
        if (last >= t.Storage.ElementCount)
            throw new CheckpointFormatException(FormatErrorReason.OffsetOutOfBounds, locator.File, what,
                $"the flat tensor reaches element {last} of a {t.Storage.ElementCount}-element storage",
                expected: $"< {t.Storage.ElementCount}", found: last.ToString());
        return flat;
    }

    /// <summary>This flat tensor cut to its first <paramref name="length"/> elements (a padded state trimmed to the lean fp32 partition).</summary>
    public FlatTensor Take(long length) => this with { Length = length };

    /// <summary>
    /// The fragments by which elements [<paramref name="start"/>, start + count) of a row-major tensor of
    /// <paramref name="shape"/>, stored back to back from element <paramref name="at"/> of this flat tensor, are read in place:
    /// the range is cut into N-d boxes (<see cref="FlatRange"/>, as flat FSDP shards are), each addressed with the
    /// tensor's contiguous strides scaled by this tensor's stride.
    /// </summary>
    public IEnumerable<Fragment> Fragments(IReadOnlyList<long> shape, long start, long count, long at)
    {
        var contiguous = Shapes.ContiguousStrides(shape);
        var strides = contiguous.Select(s => s * Stride).ToArray();
        foreach (var box in FlatRange.Boxes(shape, start, start + count))
        {
            long first = 0;
            for (int d = 0; d < shape.Count; d++) first += box.Offsets[d] * contiguous[d];
            yield return new Fragment(box.Offsets.ToArray(), box.Lengths.ToArray(), Payload, strides,
                StorageOffset + (at + first - start) * Stride, Rank);
        }
    }

    static string Describe(object? value) => value is TorchTensor t ? $"{t.Shape.Count}-D tensor {Shapes.Format(t.Shape)}" : PyRepr.TypeName(value);
}
