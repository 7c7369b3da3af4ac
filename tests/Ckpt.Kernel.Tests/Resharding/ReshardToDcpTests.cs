using System.Text.Json;
using Ckpt.Formats.Dcp;
using Ckpt.Resharding;

namespace Ckpt.Tests.Resharding;

public class ReshardToDcpTests
{
    static string Reference => TestPaths.Fixture("dcp-dtensor1d-4rank", "reference_full_model.safetensors");
    static string StubCheck => Path.Combine(TestPaths.RepoRoot, "tests", "python", "dcp_stub_check.py");

    /// <summary>
    /// Row-range layouts read exactly the chunk bytes. Splitting dim 1 in two makes each box a set of half rows 128
    /// to 704 bytes apart, which the planner coalesces (gaps under 64 KB): at most the whole rows, twice the bytes.
    /// </summary>
    [Theory]
    [InlineData("dtensor:3", 1.0)]
    [InlineData("flat:3", 1.0)]
    [InlineData("mesh", 2.0)]
    [InlineData("tp:2", 2.0)]
    public void Each_rank_file_holds_its_own_shards_and_replicated_boxes_are_written_once(string spec, double readBound)
    {
        var layout = ReadForRankTests.Make(spec);
        var dir = TestPaths.TempDirectory("reshard-" + spec.Replace(':', '-'));
        using var source = Checkpoint.Open(Reference);
        var result = Resharder.Reshard(source, new ReshardOptions(layout, dir));

        Assert.True(File.Exists(Path.Combine(dir, DcpWriter.MetadataFileName)));
        // Every chunk is a box some rank holds, and the chunks tile every tensor exactly once.
        long chunkBytes = result.Ranks.Sum(r => r.ChunkBytesWritten);
        Assert.Equal(source.Manifest.TensorBytes, chunkBytes);
        Assert.InRange(result.SourceBytesRead, source.Manifest.TensorBytes, (long)(readBound * source.Manifest.TensorBytes));
        foreach (var r in result.Ranks)
            Assert.True(r.BytesRead >= r.BytesNeeded, $"rank {r.Rank} plans {r.BytesRead} bytes for {r.BytesNeeded} needed");
    }

    [Trait("Category", "slow")]
    [PythonTorchFact]
    public void Python_torch_reads_every_written_chunk_and_they_equal_the_reference_slices()
    {
        foreach (var spec in new[] { "dtensor:3", "mesh", "flat:3" })
        {
            var dir = TestPaths.TempDirectory("reshard-py-" + spec.Replace(':', '-'));
            using (var source = Checkpoint.Open(Reference))
                Resharder.Reshard(source, new ReshardOptions(ReadForRankTests.Make(spec), dir));
            var (code, stdout, stderr) = PythonTorch.Run(File.ReadAllText(StubCheck), dir, Reference);
            Assert.True(code == 0, $"{spec}: {stdout} {stderr}");
            using var report = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
            Assert.True(report.RootElement.GetProperty("covered").GetBoolean());
            Assert.Equal("1.0.0", report.RootElement.GetProperty("version").GetString());
        }
    }

    [Trait("Category", "slow")]
    [PythonTorchFact]
    public void The_stub_check_accepts_the_dcp_that_torch_itself_wrote()
    {
        var (code, stdout, stderr) = PythonTorch.Run(File.ReadAllText(StubCheck), TestPaths.Fixture("dcp-dtensor1d-4rank"), Reference);
        Assert.True(code == 0, stdout + stderr);
    }
}
