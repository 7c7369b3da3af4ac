using Ckpt.Errors;
using Ckpt.Storage;
using Ckpt.Tests.Cli;

namespace Ckpt.Tests.ObjectStores;

/// <summary>Outputs written to s3rver and Azurite: the same bytes as on disk, index last, the local output rules.</summary>
[Collection(ObjectStoreCollection.Name)]
public class ObjectStoreWriteTests(ObjectStoreServers servers)
{
    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void An_uploaded_object_reads_back_byte_for_byte(string scheme)
    {
        var bytes = new byte[1000];
        new Random(18).NextBytes(bytes);
        var file = Path.Combine(TestPaths.TempDirectory("upload"), "one.bin");
        File.WriteAllBytes(file, bytes);
        var url = ObjectUrl.Parse($"{scheme}://{servers.CreateBucket(scheme)}/p");
        using (var writer = ObjectStorage.Open(url)) writer.Upload("one.bin", file);
        using var reader = ObjectStorage.Open(url);
        // 1,000 bytes sent as aws-chunked over http come back as 1,295 from servers that keep the wrapper.
        Assert.Equal(1000, reader.Length("one.bin"));
        var back = new byte[1000];
        reader.Read("one.bin", 0, back, IoCategory.Tensor);
        Assert.Equal(bytes, back);
    }

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void Reshard_bucket_to_bucket_writes_the_objects_a_local_reshard_writes(string scheme)
    {
        var folder = TestPaths.Fixture("dcp-fsdp2-4rank");
        var input = servers.UploadFolder(scheme, folder);
        var output = $"{scheme}://{servers.CreateBucket(scheme)}/resharded";
        var local = TestPaths.TempDirectory("reshard-local");
        Assert.Equal(0, CliRunner.Run("reshard", folder, "--world-size", "3", "--out", local, "--overwrite").Code);
        var r = CliRunner.Run("reshard", input, "--world-size", "3", "--out", output);
        Assert.True(r.Code == 0, r.Err);
        var back = Download(output);
        ObjectStoreReadTests.SameFiles(local, back);
        using var again = Checkpoint.Open(output);
        Assert.Equal("dcp", again.Manifest.Format);
    }

    [ObjectStoreFact]
    public void Convert_to_a_bucket_writes_what_convert_writes_on_disk()
    {
        var folder = TestPaths.Fixture("hf-llama-tiny-sharded");
        var output = $"s3://{servers.CreateBucket("s3")}/converted";
        var local = TestPaths.TempDirectory("convert-local");
        Assert.Equal(0, CliRunner.Run("convert", folder, "--out", local, "--overwrite", "--max-shard-size", "100KB").Code);
        var r = CliRunner.Run("convert", folder, "--out", output, "--max-shard-size", "100KB");
        Assert.True(r.Code == 0, r.Err);
        ObjectStoreReadTests.SameFiles(local, Download(output));
    }

    [ObjectStoreFact]
    public void A_non_empty_prefix_is_refused_and_overwrite_replaces_only_what_ckpt_wrote()
    {
        var folder = TestPaths.Fixture("dcp-fsdp2-4rank");
        var output = $"s3://{servers.CreateBucket("s3")}/out";
        Assert.Equal(0, CliRunner.Run("reshard", folder, "--world-size", "2", "--out", output).Code);
        var refused = CliRunner.Run("reshard", folder, "--world-size", "3", "--out", output);
        Assert.Equal(2, refused.Code);
        Assert.Contains("not empty", refused.Err);
        var replaced = CliRunner.Run("reshard", folder, "--world-size", "3", "--out", output, "--overwrite");
        Assert.True(replaced.Code == 0, replaced.Err);
        using (var ckpt = Checkpoint.Open(output)) Assert.Equal(3, ckpt.Manifest.Layout.WorldSize);
        using (var s = ObjectStorage.Open(ObjectUrl.Parse(output)))
        {
            Assert.DoesNotContain("__3_0.distcp", s.Objects.Keys); // nothing of the 2-rank output but what the 3-rank one rewrote
            var foreign = Path.Combine(TestPaths.TempDirectory("foreign"), "notes.txt");
            File.WriteAllText(foreign, "mine");
            s.Upload("notes.txt", foreign);
        }
        var foreignRefused = CliRunner.Run("reshard", folder, "--world-size", "3", "--out", output, "--overwrite");
        Assert.Equal(2, foreignRefused.Code);
        Assert.Contains("notes.txt", foreignRefused.Err);
    }

    [ObjectStoreFact]
    public void An_output_prefix_inside_the_input_prefix_is_refused()
    {
        var input = servers.UploadFolder("s3", TestPaths.Fixture("dcp-fsdp2-4rank"));
        var r = CliRunner.Run("reshard", input, "--world-size", "2", "--out", input + "/sub");
        Assert.Equal(2, r.Code);
        Assert.Contains("lies inside the input", r.Err);
    }

    [ObjectStoreFact]
    public void An_upload_killed_before_its_metadata_object_is_refused_by_readers()
    {
        var folder = TestPaths.Fixture("dcp-fsdp2-4rank");
        var url = ObjectUrl.Parse($"s3://{servers.CreateBucket("s3")}/partial");
        using (var s = ObjectStorage.Open(url))
            foreach (var f in Directory.EnumerateFiles(folder, "*.distcp")) s.Upload(Path.GetFileName(f), f);
        Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(url.ToString()));
    }

    internal static string Download(string url)
    {
        var dir = TestPaths.TempDirectory("download");
        using var s = ObjectStorage.Open(ObjectUrl.Parse(url));
        foreach (var (key, length) in s.Objects)
        {
            var bytes = new byte[length];
            s.Read(key, 0, bytes, IoCategory.Tensor);
            var path = Path.Combine(dir, key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
        }
        return dir;
    }
}
