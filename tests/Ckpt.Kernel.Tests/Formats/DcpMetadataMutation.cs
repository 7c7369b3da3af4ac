using Ckpt.Formats.Dcp;
using Ckpt.Storage;

namespace Ckpt.Tests.Formats;

/// <summary>A <see cref="MutatedCheckpoint"/> of a DCP folder whose `.metadata` is changed as records and pickled back.</summary>
static class DcpMetadataMutation
{
    /// <summary>The copy's `.metadata` as records.</summary>
    public static DcpMetadata ReadDcpMetadata(this MutatedCheckpoint copy)
    {
        using var storage = new LocalStorage(copy.Path);
        return DcpMetadataReader.Read(storage, DcpFormat.MetadataFileName);
    }

    public static void MutateDcpMetadata(this MutatedCheckpoint copy, Func<DcpMetadata, DcpMetadata> change, DcpMetadataPickle.Options? options = null)
    {
        var changed = change(copy.ReadDcpMetadata());
        copy.Mutate(DcpFormat.MetadataFileName, _ => DcpMetadataPickle.Write(changed, options));
    }

    /// <summary>Rewrites the storage entries of `.metadata` through <paramref name="change"/>.</summary>
    public static void MutateDcpStorage(this MutatedCheckpoint copy, Func<DcpStorageEntry, DcpStorageEntry> change) =>
        copy.MutateDcpMetadata(meta => meta with { StorageData = meta.StorageData.Select(change).ToArray() });
}
