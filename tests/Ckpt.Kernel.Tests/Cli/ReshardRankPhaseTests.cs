using System.Text.Json;

namespace Ckpt.Tests.Cli;

/// <summary>`ckpt reshard --json` times each target rank's phases, the figures `#!ckpt-reshard` tabulates.</summary>
public class ReshardRankPhaseTests
{
    [Fact]
    public void Reshard_json_gives_every_rank_its_plan_load_and_write_seconds()
    {
        var dir = TestPaths.TempDirectory("cli-reshard-phases");
        var (code, stdout, stderr) = CliRunner.Run("reshard", TestPaths.Fixture("dcp-fsdp2-4rank"), "--world-size", "3", "--out", dir, "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        foreach (var rank in doc.RootElement.GetProperty("ranks").EnumerateArray())
        {
            var seconds = rank.GetProperty("seconds");
            Assert.Equal(["load", "plan", "write"], seconds.EnumerateObject().Select(p => p.Name).Order());
            Assert.All(seconds.EnumerateObject(), p => Assert.True(p.Value.GetDouble() >= 0));
            // Every rank that writes chunks spent time loading and writing them.
            if (rank.GetProperty("chunksWritten").GetInt32() > 0)
                Assert.True(seconds.GetProperty("load").GetDouble() > 0 && seconds.GetProperty("write").GetDouble() > 0, rank.ToString());
        }
    }
}
