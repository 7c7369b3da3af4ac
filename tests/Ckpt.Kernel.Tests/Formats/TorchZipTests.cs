using System.IO.Compression;
using Ckpt.Errors;
using Ckpt.Formats.TorchSave;
using Ckpt.Storage;

namespace Ckpt.Tests.Formats;

public class TorchZipTests
{
    [Fact]
    public void Every_member_of_a_torch_save_zip_has_its_data_offset_where_its_bytes_are()
    {
        var path = TestPaths.Fixture("torch-save", "variety.pt");
        using var storage = new LocalStorage(Path.GetDirectoryName(path)!);
        var zip = TorchZip.Open(storage, "variety.pt");
        var file = File.ReadAllBytes(path);
        using var reference = ZipFile.OpenRead(path);
        Assert.Equal(reference.Entries.Count, zip.Members.Count);
        foreach (var entry in reference.Entries)
        {
            var m = zip.Find(entry.FullName) ?? throw new Xunit.Sdk.XunitException($"{entry.FullName} missing");
            Assert.True(m.IsStored);
            using var s = entry.Open();
            var expected = new MemoryStream();
            s.CopyTo(expected);
            Assert.Equal(expected.ToArray(), file.AsSpan((int)m.DataOffset, (int)m.Size).ToArray());
        }
        Assert.Contains(zip.Members, m => m.Name == "variety/data.pkl");
        // torch aligns storages to 64 bytes so they can be mapped.
        Assert.All(zip.Members.Where(m => m.Name.StartsWith("variety/data/")), m => Assert.Equal(0, m.DataOffset % 64));
    }

    [Fact]
    public void A_zip_embedded_at_an_offset_reports_absolute_data_offsets()
    {
        var dir = TestPaths.TempDirectory("zip-embedded");
        var zipBytes = MakeZip(("a/data.pkl", new byte[] { 1, 2, 3 }), ("a/data/0", Enumerable.Range(0, 100).Select(i => (byte)i).ToArray()));
        var prefix = new byte[1000];
        new Random(1).NextBytes(prefix);
        File.WriteAllBytes(Path.Combine(dir, "blob.distcp"), [.. prefix, .. zipBytes, .. new byte[77]]);
        using var storage = new LocalStorage(dir);
        var zip = TorchZip.Open(storage, "blob.distcp", 1000, zipBytes.Length);
        var m = zip.Find("a/data/0")!;
        var bytes = new byte[m.Size];
        storage.Read("blob.distcp", m.DataOffset, bytes, IoCategory.Tensor);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (byte)i).ToArray(), bytes);
        Assert.Equal(new byte[] { 1, 2, 3 }, zip.ReadAll(zip.Find("a/data.pkl")!));

        var inMemory = TorchZip.Open(zipBytes, "payload");
        Assert.Equal(m.DataOffset - 1000, inMemory.Find("a/data/0")!.DataOffset);
    }

    [Fact]
    public void Deflated_records_are_inflated_and_checked()
    {
        var zipBytes = MakeZip(CompressionLevel.Optimal, ("x/version", "3\n"u8.ToArray()), ("x/big", new byte[5000]));
        var zip = TorchZip.Open(zipBytes, "deflated");
        Assert.False(zip.Find("x/big")!.IsStored);
        Assert.Equal(new byte[5000], zip.ReadAll(zip.Find("x/big")!));
        zipBytes[(int)zip.Find("x/version")!.DataOffset] ^= 0xff;
        var corrupted = TorchZip.Open(zipBytes, "deflated");
        Assert.Throws<CheckpointFormatException>(() => corrupted.ReadAll(corrupted.Find("x/version")!));
    }

    [Theory]
    [InlineData("../evil")]
    [InlineData("a/../../evil")]
    [InlineData("/etc/passwd")]
    [InlineData("c:/windows")]
    public void A_member_name_that_leaves_the_archive_is_refused(string name)
    {
        var zipBytes = MakeZip((name, new byte[] { 1 }));
        var e = Assert.Throws<CheckpointFormatException>(() => TorchZip.Open(zipBytes, "evil.zip"));
        Assert.Equal(FormatErrorReason.ZipInvalid, e.Reason);
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void A_truncated_or_garbled_zip_is_ZipInvalid()
    {
        var zipBytes = MakeZip(("a/data.pkl", new byte[] { 1, 2, 3 }), ("a/data/0", new byte[300]));
        for (int cut = 1; cut < zipBytes.Length; cut += 13)
            Assert.Equal(FormatErrorReason.ZipInvalid, Assert.Throws<CheckpointFormatException>(() => TorchZip.Open(zipBytes[..^cut], "cut.zip")).Reason);
        var rng = new Random(5);
        for (int i = 0; i < 2000; i++)
        {
            var garbled = zipBytes.ToArray();
            for (int k = 0; k < 4; k++) garbled[rng.Next(garbled.Length)] = (byte)rng.Next(256);
            try { TorchZip.Open(garbled, "garbled.zip"); }
            catch (CheckpointFormatException) { }
        }
    }

    [Fact]
    public void A_zip64_archive_with_more_than_65535_members_is_read()
    {
        var entries = Enumerable.Range(0, 70_000).Select(i => ($"z/{i}", new[] { (byte)(i % 251) })).ToArray();
        var zipBytes = MakeZip(entries);
        var zip = TorchZip.Open(zipBytes, "zip64");
        Assert.Equal(70_000, zip.Members.Count);
        var m = zip.Find("z/69999")!;
        Assert.Equal((byte)(69999 % 251), zipBytes[m.DataOffset]);
    }

    static byte[] MakeZip(params (string Name, byte[] Data)[] entries) => MakeZip(CompressionLevel.NoCompression, entries);

    static byte[] MakeZip(CompressionLevel level, params (string Name, byte[] Data)[] entries)
    {
        var ms = new MemoryStream();
        using (var archive = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in entries)
            {
                using var s = archive.CreateEntry(name, level).Open();
                s.Write(data);
            }
        return ms.ToArray();
    }
}
