using Ckpt.Errors;
using Ckpt.Storage;
using Ckpt.Tests.Cli;

namespace Ckpt.Tests.ObjectStores;

/// <summary>Per-rank parts written to s3rver and Azurite, then finalized: the objects a single local run writes.</summary>
[Collection(ObjectStoreCollection.Name)]
public class ObjectStorePartTests(ObjectStoreServers servers)
{
    static string Dcp => TestPaths.Fixture("dcp-fsdp2-4rank");

    /// <summary>Slow (9 s and 5 s in the last full run): `--fast` keeps four parts and finalize on disk (PerRankTests), a
    /// reshard into each kind of bucket writing what a local one writes (ObjectStoreWriteTests) and finalize's refusals
    /// on a bucket (below).</summary>
    [Trait("Category", "slow")]
    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void Four_reshard_parts_into_a_bucket_then_finalize_write_the_objects_of_the_single_process_run(string scheme)
    {
        var input = servers.UploadFolder(scheme, Dcp);
        var output = $"{scheme}://{servers.CreateBucket(scheme)}/resharded";
        var local = TestPaths.TempDirectory("parts-local");
        Assert.Equal(0, CliRunner.Run("reshard", Dcp, "--world-size", "4", "--out", local, "--overwrite").Code);
        for (int r = 0; r < 4; r++)
        {
            var part = CliRunner.Run("reshard", input, "--world-size", "4", "--out", output, "--rank", r.ToString(), "--ranks", "4");
            Assert.True(part.Code == 0, part.Err);
            // Every part so far is there, and nothing a reader accepts.
            Assert.Equal(FormatErrorReason.Incomplete, Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(output)).Reason);
        }
        var done = CliRunner.Run("finalize", output);
        Assert.True(done.Code == 0, done.Err);
        ObjectStoreReadTests.SameFiles(local, ObjectStoreWriteTests.Download(output));
        using var s = ObjectStorage.Open(ObjectUrl.Parse(output));
        Assert.DoesNotContain(s.Objects.Keys, k => k.StartsWith(".ckpt-parts/", StringComparison.Ordinal));
    }

    [ObjectStoreFact]
    public void Finalize_of_a_prefix_with_a_part_missing_names_it_and_uploads_no_index()
    {
        var output = $"s3://{servers.CreateBucket("s3")}/resharded";
        foreach (var r in new[] { 0, 1, 3 })
            Assert.Equal(0, CliRunner.Run("reshard", Dcp, "--world-size", "4", "--out", output, "--rank", r.ToString(), "--ranks", "4").Code);
        var (code, _, err) = CliRunner.Run("finalize", output);
        Assert.Equal(2, code);
        Assert.Contains("1 of the 4 parts is missing: part-00002-of-00004", err);
        using (var s = ObjectStorage.Open(ObjectUrl.Parse(output))) Assert.DoesNotContain(".metadata", s.Objects.Keys);
        Assert.Equal(0, CliRunner.Run("reshard", Dcp, "--world-size", "4", "--out", output, "--rank", "2", "--ranks", "4").Code);
        var done = CliRunner.Run("finalize", output);
        Assert.True(done.Code == 0, done.Err);
        using var ckpt = Checkpoint.Open(output);
        Assert.Equal(4, ckpt.Manifest.Layout.WorldSize);
    }

    [ObjectStoreFact]
    public void A_prefix_holding_objects_ckpt_did_not_write_is_refused_to_every_part()
    {
        var output = ObjectUrl.Parse($"s3://{servers.CreateBucket("s3")}/out");
        var foreign = Path.Combine(TestPaths.TempDirectory("foreign"), "notes.txt");
        File.WriteAllText(foreign, "mine");
        using (var s = ObjectStorage.Open(output)) s.Upload("notes.txt", foreign);
        var (code, _, err) = CliRunner.Run("reshard", Dcp, "--world-size", "2", "--out", output.ToString(), "--rank", "0", "--ranks", "2", "--overwrite");
        Assert.Equal(2, code);
        Assert.Contains("notes.txt", err);
    }
}
