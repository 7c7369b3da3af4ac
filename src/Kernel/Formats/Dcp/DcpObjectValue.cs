using Ckpt.Manifest;
using Ckpt.Storage;

namespace Ckpt.Formats.Dcp;

internal static class DcpObjectValue
{
    public static ObjectEntry Read(ICheckpointStorage storage, string file, string fqn, DcpStorageInfo info)
        => throw new NotImplementedException();
}
