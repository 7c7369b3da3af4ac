using Ckpt.Formats.Dcp;
using Ckpt.Storage;

namespace Ckpt.Tests.Formats;

/// <summary>A writable copy of a DCP fixture folder in a temporary directory, for tests that damage or rewrite it.</summary>
sealed class DcpFixture : IDisposable
{
    public string Path { get; }

    public DcpFixture(string fixture, bool withReference = false)
    {
        Path = TestPaths.TempDirectory(fixture);
        foreach (var f in Directory.EnumerateFiles(TestPaths.Fixture(fixture)))
        {
            var name = System.IO.Path.GetFileName(f);
            if (!withReference && name.StartsWith("reference", StringComparison.Ordinal)) continue;
            System.IO.File.Copy(f, System.IO.Path.Combine(Path, name));
        }
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>The fixture's `.metadata` as records.</summary>
    public DcpMetadata ReadMetadata()
    {
        using var storage = new LocalStorage(Path);
        return DcpMetadataReader.Read(storage, DcpFormat.MetadataFileName);
    }

    public void WriteMetadata(DcpMetadata meta, DcpMetadataPickle.Options? options = null) =>
        System.IO.File.WriteAllBytes(File(DcpFormat.MetadataFileName), DcpMetadataPickle.Write(meta, options));

    /// <summary>Rewrites the storage entries of `.metadata` through <paramref name="change"/>.</summary>
    public void RewriteStorage(Func<DcpStorageEntry, DcpStorageEntry> change)
    {
        var meta = ReadMetadata();
        WriteMetadata(meta with { StorageData = meta.StorageData.Select(change).ToArray() });
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
