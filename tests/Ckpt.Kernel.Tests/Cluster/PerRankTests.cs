using System.Diagnostics;
using Ckpt.Errors;
using Ckpt.Tests.Cli;
using Ckpt.Tests.ObjectStores;

namespace Ckpt.Tests.Cluster;

/// <summary>
/// `reshard|convert --rank r --ranks N` then `ckpt finalize`: the parts, written by separate calls or separate processes,
/// finalize to the files one process writes (DCP's `.metadata` differs only in its random `save_id`, as two
/// single-process runs do); an unfinished output is refused by readers and by finalize, naming the missing parts.
/// </summary>
public sealed class PerRankTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("per-rank");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static string Dcp => TestPaths.Fixture("dcp-fsdp2-4rank");

    static void Ok((int Code, string Out, string Err) r) => Assert.True(r.Code == 0, r.Err);

    static string[] Reshard(string output, params string[] extra) => ["reshard", Dcp, "--world-size", "4", "--out", output, .. extra];

    [Fact]
    public void Four_parts_of_a_reshard_then_finalize_write_the_files_of_the_single_process_run()
    {
        var single = Path.Combine(_dir, "single");
        var parts = Path.Combine(_dir, "parts");
        Ok(CliRunner.Run(Reshard(single)));
        // Out of order: no part depends on another.
        foreach (var r in new[] { 2, 0, 3, 1 }) Ok(CliRunner.Run(Reshard(parts, "--rank", r.ToString(), "--ranks", "4")));
        Assert.False(Directory.Exists(parts)); // nothing at --out before finalize
        var done = CliRunner.Run("finalize", parts, "--json");
        Ok(done);
        Assert.Contains("\"parts\": 4", done.Out);
        ObjectStoreReadTests.SameFiles(single, parts);
        Assert.False(Directory.Exists(Path.Combine(_dir, ".parts.ckpt-parts")));
        using var ckpt = Checkpoint.Open(parts);
        Assert.Equal(4, ckpt.Manifest.Layout.WorldSize);
    }

    [Fact]
    public void Two_processes_sharing_a_reshard_to_four_ranks_write_two_ranks_each()
    {
        var single = Path.Combine(_dir, "single");
        var parts = Path.Combine(_dir, "parts");
        Ok(CliRunner.Run(Reshard(single)));
        var processes = Enumerable.Range(0, 2).Select(r => Start(Reshard(parts, "--rank", r.ToString(), "--ranks", "2"))).ToArray();
        foreach (var p in processes)
        {
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err);
        }
        Assert.Equal(["__1_0.distcp", "__3_0.distcp", "part.json"],
            Directory.EnumerateFiles(Path.Combine(_dir, ".parts.ckpt-parts", "part-00001-of-00002")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Ok(CliRunner.Run("finalize", parts));
        ObjectStoreReadTests.SameFiles(single, parts);
    }

    [Fact]
    public void Convert_to_sharded_safetensors_in_three_parts_writes_the_shards_and_index_of_one_process()
    {
        var source = TestPaths.Fixture("hf-llama-tiny-sharded");
        var single = Path.Combine(_dir, "single");
        var parts = Path.Combine(_dir, "parts");
        string[] Convert(string output, params string[] extra) => ["convert", source, "--out", output, "--max-shard-size", "100KB", .. extra];
        Ok(CliRunner.Run(Convert(single)));
        Assert.True(Directory.EnumerateFiles(single, "model-*.safetensors").Count() > 3);
        for (int r = 0; r < 3; r++) Ok(CliRunner.Run(Convert(parts, "--rank", r.ToString(), "--ranks", "3")));
        Ok(CliRunner.Run("finalize", parts));
        ObjectStoreReadTests.SameFiles(single, parts);
    }

    [Fact]
    public void Convert_to_dcp_in_two_parts_writes_what_one_process_writes()
    {
        var single = Path.Combine(_dir, "single");
        var parts = Path.Combine(_dir, "parts");
        Ok(CliRunner.Run("convert", Dcp, "--to", "dcp", "--out", single));
        for (int r = 0; r < 2; r++) Ok(CliRunner.Run("convert", Dcp, "--to", "dcp", "--out", parts, "--rank", r.ToString(), "--ranks", "2"));
        Ok(CliRunner.Run("finalize", parts));
        ObjectStoreReadTests.SameFiles(single, parts);
    }

    [Fact]
    public void Finalize_with_parts_missing_names_them_in_one_sentence_with_exit_2_and_writes_nothing()
    {
        var parts = Path.Combine(_dir, "parts");
        Ok(CliRunner.Run(Reshard(parts, "--rank", "0", "--ranks", "4")));
        Ok(CliRunner.Run(Reshard(parts, "--rank", "2", "--ranks", "4")));
        var (code, _, err) = CliRunner.Run("finalize", parts);
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("2 of the 4 parts are missing: part-00001-of-00004, part-00003-of-00004", err);
        Assert.False(Directory.Exists(parts));
        // The parts are kept: the missing ranks can run and finalize then succeeds.
        Ok(CliRunner.Run(Reshard(parts, "--rank", "1", "--ranks", "4")));
        Ok(CliRunner.Run(Reshard(parts, "--rank", "3", "--ranks", "4")));
        Ok(CliRunner.Run("finalize", parts));
    }

    [Fact]
    public void Finalize_without_any_part_is_refused()
    {
        var (code, _, err) = CliRunner.Run("finalize", Path.Combine(_dir, "nothing"));
        Assert.Equal(2, code);
        Assert.Contains("no parts to finalize", err);
    }

    [Fact]
    public void A_part_is_not_accepted_as_a_checkpoint_before_finalize()
    {
        var parts = Path.Combine(_dir, "parts");
        Ok(CliRunner.Run(Reshard(parts, "--rank", "0", "--ranks", "2")));
        var part = Path.Combine(_dir, ".parts.ckpt-parts", "part-00000-of-00002");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(part));
        Assert.Equal(FormatErrorReason.Incomplete, e.Reason);
        Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(parts));
    }

    [Fact]
    public void Rerunning_one_rank_replaces_its_own_part_only()
    {
        var parts = Path.Combine(_dir, "parts");
        for (int r = 0; r < 4; r++) Ok(CliRunner.Run(Reshard(parts, "--rank", r.ToString(), "--ranks", "4")));
        var area = Path.Combine(_dir, ".parts.ckpt-parts");
        var before = Directory.GetDirectories(area).ToDictionary(d => Path.GetFileName(d)!, d => File.ReadAllBytes(Path.Combine(d, "part.json")));
        Ok(CliRunner.Run(Reshard(parts, "--rank", "2", "--ranks", "4")));
        var after = Directory.GetDirectories(area).ToDictionary(d => Path.GetFileName(d)!, d => File.ReadAllBytes(Path.Combine(d, "part.json")));
        Assert.Equal(before.Keys.Order(), after.Keys.Order()); // no temp folder left
        foreach (var name in before.Keys)
            Assert.Equal(name == "part-00002-of-00004", !before[name].SequenceEqual(after[name])); // its record is rewritten (time), the others untouched
        Ok(CliRunner.Run("finalize", parts));
    }

    [Fact]
    public void A_part_of_another_run_is_refused_unless_overwrite_and_finalize_takes_the_newest_run()
    {
        var parts = Path.Combine(_dir, "parts");
        Ok(CliRunner.Run(Reshard(parts, "--rank", "0", "--ranks", "2")));
        string[] other = ["reshard", Dcp, "--world-size", "2", "--out", parts, "--rank", "1", "--ranks", "2"];
        var (code, _, err) = CliRunner.Run(other);
        Assert.Equal(2, code);
        Assert.Contains("part-00000-of-00002 of another run", err);
        Ok(CliRunner.Run([.. other, "--overwrite"]));
        var refused = CliRunner.Run("finalize", parts);
        Assert.Equal(2, refused.Code);
        Assert.Contains("part-00000-of-00002", refused.Err); // the newest run's part 0 was never written
        Ok(CliRunner.Run("reshard", Dcp, "--world-size", "2", "--out", parts, "--rank", "0", "--ranks", "2", "--overwrite"));
        Ok(CliRunner.Run("finalize", parts));
        using var ckpt = Checkpoint.Open(parts);
        Assert.Equal(2, ckpt.Manifest.Layout.WorldSize);
    }

    [Fact]
    public void Finalize_keeps_the_no_overwrite_rules_of_any_output()
    {
        var parts = Path.Combine(_dir, "parts");
        Directory.CreateDirectory(parts);
        File.WriteAllText(Path.Combine(parts, "notes.txt"), "mine");
        var refused = CliRunner.Run(Reshard(parts, "--rank", "0", "--ranks", "1"));
        Assert.Equal(2, refused.Code);
        Assert.Contains("not empty", refused.Err);
        File.Delete(Path.Combine(parts, "notes.txt"));
        Ok(CliRunner.Run(Reshard(parts, "--rank", "0", "--ranks", "1")));
        File.WriteAllText(Path.Combine(parts, "notes.txt"), "mine");
        var (code, _, err) = CliRunner.Run("finalize", parts, "--overwrite");
        Assert.Equal(2, code);
        Assert.Contains("notes.txt", err);
        Assert.True(Directory.Exists(Path.Combine(_dir, ".parts.ckpt-parts", "part-00000-of-00001")), "a refused finalize keeps the parts");
        Assert.True(File.Exists(Path.Combine(_dir, ".parts.ckpt-parts", "part-00000-of-00001", "__0_0.distcp")));
    }

    [Theory]
    [InlineData("--to torch", "cannot be split")]
    [InlineData("--max-shard-size 5GB", "fits one safetensors file")]
    [InlineData("--rank 0", "--rank needs --ranks")]
    [InlineData("--rank 4 --ranks 4", "--rank 4 must be between 0 and 3")]
    public void A_share_that_cannot_be_written_is_refused_in_one_sentence(string options, string said)
    {
        string[] args = ["convert", TestPaths.Fixture("hf-llama-tiny-sharded"), "--out", Path.Combine(_dir, "o"), .. options.Split(' ')];
        if (!options.Contains("--rank")) args = [.. args, "--rank", "0", "--ranks", "2"];
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(said, err);
    }

    internal static Process Start(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "ckpt.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }
}
