using Ckpt.Pickle;

namespace Ckpt.Formats.TorchSave;

/// <summary>Where the bytes of a pickled storage live (a zip member, or a span of a legacy file).</summary>
public interface ITorchStorageLocator
{
    string File { get; }
    /// <summary>The payload holding exactly the storage's bytes.</summary>
    Payload Locate(TorchStorage storage);
}

public static class TorchStorageLocators
{
    /// <summary>
    /// A fragment covering a whole tensor, pointing into its storage in place; checks the tensor's last
    /// element lies inside the storage.
    /// </summary>
    public static Fragment ToFragment(this ITorchStorageLocator locator, TorchTensor tensor, string name,
        IReadOnlyList<long>? offsets = null, int? rank = null)
    {
        var payload = locator.Locate(tensor.Storage);
        long numel = Shapes.TryElementCount(tensor.Shape) ?? throw new Errors.CheckpointFormatException(
            Errors.FormatErrorReason.InvalidShape, locator.File, name, $"shape {Shapes.Format(tensor.Shape)} has more than 2^63 elements");
        if (numel > 0)
        {
            long last = tensor.StorageOffset;
            try
            {
                for (int d = 0; d < tensor.Shape.Count; d++) last = checked(last + (tensor.Shape[d] - 1) * tensor.Strides[d]);
            }
            catch (OverflowException) { last = long.MaxValue; }
            if (last >= tensor.Storage.ElementCount)
                throw new Errors.CheckpointFormatException(Errors.FormatErrorReason.OffsetOutOfBounds, locator.File, name,
                    $"shape {Shapes.Format(tensor.Shape)}, strides {Shapes.Format(tensor.Strides)} and offset {tensor.StorageOffset} reach element {last} of a {tensor.Storage.ElementCount}-element storage",
                    expected: $"< {tensor.Storage.ElementCount}", found: last.ToString());
        }
        return new Fragment(offsets ?? new long[tensor.Shape.Count], tensor.Shape.ToArray(), payload, tensor.Strides.ToArray(),
            tensor.StorageOffset, rank);
    }
}
