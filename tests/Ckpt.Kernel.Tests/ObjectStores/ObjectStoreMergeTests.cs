using Ckpt.Tests.Cli;

namespace Ckpt.Tests.ObjectStores;

/// <summary>Merge reads its inputs from a bucket and writes its output to one like any other verb.</summary>
[Collection(ObjectStoreCollection.Name)]
public class ObjectStoreMergeTests(ObjectStoreServers servers)
{
    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void Merge_of_bucket_inputs_into_a_bucket_writes_what_a_local_merge_writes(string scheme)
    {
        var a = TestPaths.Fixture("hf-llama-tiny-sharded");
        var url = servers.UploadFolder(scheme, a);
        var local = TestPaths.TempDirectory("merge-local");
        var output = $"{scheme}://{servers.CreateBucket(scheme)}/merged";
        var l = CliRunner.Run("merge", "--method", "linear", "--model", a, "--model", a, "--out", local, "--overwrite");
        Assert.True(l.Code == 0, l.Err);
        var r = CliRunner.Run("merge", "--method", "linear", "--model", url, "--model", url, "--out", output);
        Assert.True(r.Code == 0, r.Err);
        var back = ObjectStoreWriteTests.Download(output);
        // merge_log.json names the inputs as given and times the run: compared by presence only.
        Assert.True(File.Exists(Path.Combine(back, "merge_log.json")));
        File.Delete(Path.Combine(back, "merge_log.json"));
        File.Delete(Path.Combine(local, "merge_log.json"));
        ObjectStoreReadTests.SameFiles(local, back);
    }
}
