using Ckpt.Manifest;
using Ckpt.Storage;

namespace Ckpt.Formats.Dcp;

internal static class DcpChunkPayload
{
    public static Fragment Fragment(ICheckpointStorage storage, string file, string fqn, DcpTensorItem tensor, DcpChunk chunk, DcpStorageInfo info)
        => throw new NotImplementedException();
}
