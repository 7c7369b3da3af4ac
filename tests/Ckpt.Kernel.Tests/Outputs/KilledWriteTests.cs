using System.Diagnostics;
using Ckpt.Benchmarks;
using Ckpt.Errors;
using Xunit.Abstractions;

namespace Ckpt.Tests.Outputs;

/// <summary>
/// The real `ckpt` process, killed with SIGKILL while it converts: the output is then absent, or the old one byte
/// for byte, or the complete new one; never a partial folder that reads as a smaller checkpoint. The next run removes
/// what the killed one left.
/// </summary>
public sealed class KilledWriteTests(ITestOutputHelper log) : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("killed-write");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static Process Start(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "ckpt.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    static int Shards(string folder) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "model-*-of-*.safetensors").Count() : 0;

    /// <summary>Waits until a staging folder beside <paramref name="output"/> holds <paramref name="shards"/> finished shards; null if the run ended first.</summary>
    static string? WaitForStaging(Process process, string output, int shards)
    {
        var clock = Stopwatch.StartNew();
        while (!process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            foreach (var staging in FolderHashes.StagingBeside(output))
                if (Shards(staging) >= shards) return staging;
            Thread.Sleep(2);
        }
        return null;
    }

    [Fact]
    public void A_convert_killed_at_any_moment_leaves_the_old_or_the_complete_new_output_and_the_next_run_cleans_up()
    {
        var source = Path.Combine(_dir, "source");
        var generated = SyntheticCheckpoint.Write(source, 48L << 20, shards: 4, hidden: 128);
        Assert.Equal(4, generated.Files.Count);
        int tensors;
        using (var s = Checkpoint.Open(source)) tensors = s.Manifest.Tensors.Count;
        var output = Path.Combine(_dir, "out");
        string[] Convert(params string[] extra) => ["convert", source, "--out", output, "--dtype", "F32", "--max-shard-size", "1MB", .. extra];

        int landed = 0;
        SortedDictionary<string, string>? old = null;
        foreach (var replacing in new[] { false, true })
        {
            if (replacing)
            {
                using var full = Start(Convert("--overwrite"));
                full.WaitForExit();
                Assert.True(full.ExitCode == 0, full.StandardError.ReadToEnd());
                old = FolderHashes.Of(output);
            }
            foreach (var shards in new[] { 0, 1, 5, 20 })
            {
                using var run = Start(replacing ? Convert("--overwrite") : Convert());
                var staging = WaitForStaging(run, output, shards);
                if (staging is null)
                {
                    run.WaitForExit();
                    log.WriteLine($"replacing={replacing} shards={shards}: finished before the kill (exit {run.ExitCode})");
                    continue;
                }
                run.Kill();
                run.WaitForExit();
                landed++;
                log.WriteLine($"replacing={replacing}: killed with {Shards(staging)} shards staged");

                if (old is not null) Assert.Equal(old, FolderHashes.Of(output));
                else if (Directory.Exists(output))
                {
                    using var ckpt = Checkpoint.Open(output); // a complete earlier run of this loop
                    Assert.Equal(tensors, ckpt.Manifest.Tensors.Count);
                }
                if (Directory.Exists(staging))
                    Assert.Equal(FormatErrorReason.Incomplete, Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(staging).Dispose()).Reason);
            }
        }
        Assert.True(landed >= 4, $"only {landed} kills landed mid-write; the conversion finished too fast to test");

        using var last = Start(Convert("--overwrite"));
        last.WaitForExit();
        Assert.True(last.ExitCode == 0, last.StandardError.ReadToEnd());
        Assert.Empty(FolderHashes.StagingBeside(output));
        using var done = Checkpoint.Open(output);
        Assert.Equal(tensors, done.Manifest.Tensors.Count);
        Assert.All(done.Manifest.Tensors, t => Assert.Equal(global::Ckpt.Tensors.DType.F32, t.DType));
    }
}
