namespace Ckpt.Planning;

/// <summary>
/// The storage bytes of a fragment whose payload is transformed (compressed DCP items), decoded in memory,
/// with the element strides and storage offset found inside it.
/// </summary>
public sealed record DecodedPayload(byte[] Storage, IReadOnlyList<long> Strides, long StorageOffset);

/// <summary>Decodes transformed payloads; implementations are discovered like formats.</summary>
public interface IPayloadDecoder
{
    bool CanDecode(Payload payload);
    DecodedPayload Decode(ICheckpointStorage storage, Fragment fragment, TensorEntry tensor, CancellationToken cancellationToken);
}

public static class PayloadDecoders
{
    internal static DecodedPayload Decode(ICheckpointStorage storage, Fragment fragment, TensorEntry tensor, CancellationToken ct)
    {
        var decoder = Implementations<IPayloadDecoder>.All.FirstOrDefault(d => d.CanDecode(fragment.Payload))
            ?? throw new CheckpointFormatException(FormatErrorReason.UnsupportedTransform, fragment.Payload.File, tensor.Name,
                $"no decoder for transforms {string.Join(",", fragment.Payload.Transforms ?? [])}");
        return decoder.Decode(storage, fragment, tensor, ct);
    }
}
