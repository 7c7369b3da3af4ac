using System.Text.Json;

namespace Ckpt.Tests.Cli;

public class ReshardCommandTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => global::Ckpt.Tests.Cli.CliRunner.Run(args);

    [Fact]
    public void Reshard_json_reports_bytes_read_and_needed_per_rank_and_time_per_phase()
    {
        var dir = TestPaths.TempDirectory("cli-reshard");
        var (code, stdout, stderr) = Run("reshard", TestPaths.Fixture("dcp-dtensor1d-4rank"), "--world-size", "3", "--out", dir, "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("worldSize").GetInt32());
        var ranks = root.GetProperty("ranks").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2], ranks.Select(r => r.GetProperty("rank").GetInt32()));
        // 512-row embedding over 3 ranks: 171, 171, 170 rows; every rank needs what it reads (dim-0 chunks).
        Assert.All(ranks, r => Assert.Equal(r.GetProperty("bytesNeeded").GetInt64(), r.GetProperty("bytesRead").GetInt64()));
        Assert.Equal(1001728, ranks.Sum(r => r.GetProperty("chunkBytesWritten").GetInt64()));
        var phases = root.GetProperty("phases");
        foreach (var phase in new[] { "plan", "read", "load", "write", "metadata" })
            Assert.True(phases.TryGetProperty(phase, out var p) && p.GetProperty("seconds").GetDouble() >= 0, $"phase {phase} missing");
        Assert.Equal(["scalar_meta.note", "scalar_meta.step"], root.GetProperty("objects").GetProperty("written").EnumerateArray().Select(x => x.GetString()).Order());
        Assert.True(File.Exists(Path.Combine(dir, ".metadata")));
    }

    [Fact]
    public void Reshard_without_out_plans_every_rank_and_writes_nothing_as_the_magic_does()
    {
        var (code, stdout, stderr) = Run("reshard", TestPaths.Fixture("dcp-dtensor1d-4rank"), "--world-size", "3", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.True(doc.RootElement.GetProperty("planOnly").GetBoolean());
        var ranks = doc.RootElement.GetProperty("ranks").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2], ranks.Select(r => r.GetProperty("rank").GetInt32()));
        Assert.All(ranks, r => Assert.Equal(r.GetProperty("bytesNeeded").GetInt64(), r.GetProperty("bytesRead").GetInt64()));
        var (_, text, _) = Run("reshard", TestPaths.Fixture("dcp-dtensor1d-4rank"), "--world-size", "3");
        Assert.Contains("nothing written", text);
    }

    [Theory]
    [InlineData("--mesh", "2x2")]
    [InlineData("--world-size", "0")]
    [InlineData("--layout", "pipeline")]
    public void Reshard_refuses_an_incomplete_or_unknown_layout_with_one_line(string option, string value)
    {
        var dir = TestPaths.TempDirectory("cli-reshard-bad");
        var args = new List<string> { "reshard", TestPaths.Fixture("dcp-dtensor1d-4rank"), "--out", dir, option, value };
        if (option != "--world-size" && option != "--mesh") args.AddRange(["--world-size", "2"]);
        var (code, _, stderr) = Run([.. args]);
        Assert.Equal(2, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.False(File.Exists(Path.Combine(dir, ".metadata")));
    }
}
