using System.Diagnostics;
using Xunit.Abstractions;
using Ckpt.Bench.Resilience;
using Ckpt.Resilience;

namespace Ckpt.Kernel.Tests.Resilience;

/// <summary>
/// Runs the bench app's `crashloop` child (train, async save every step, resume on start) and SIGKILLs it at
/// seeded random moments; after every kill the newest complete checkpoint must verify and hold exactly the
/// deterministic state of its step, and the next child must resume from it. The 32-kill campaign is slow (a child
/// process per kill, about 30 s); `--fast` runs the same campaign with 4 kills.
/// </summary>
public class CrashRecoveryTests(ITestOutputHelper output) : IDisposable
{
    readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Trait("Category", "slow")]
    [Fact]
    public Task A_trainer_killed_at_random_moments_always_resumes_from_a_complete_checkpoint_equal_to_its_step() => Campaign(32);

    /// <summary>The same campaign, short: two kills wait for a new commit first, so resuming from one is exercised.</summary>
    [Fact]
    public Task A_trainer_killed_four_times_resumes_each_time_from_a_complete_checkpoint_equal_to_its_step() => Campaign(4);

    async Task Campaign(int kills)
    {
        var rng = new Random(20261126);
        var directory = new CheckpointDirectory(_folder.Path);
        var reference = new DeterministicTraining(CrashLoop.Tensors, CrashLoop.Elements);
        long newestSeen = 0;
        int killsAfterProgress = 0, killsMidCommit = 0;

        for (int kill = 0; kill < kills; kill++)
        {
            using var child = StartChild();
            try
            {
                var ready = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                if (ready is null || !ready.StartsWith("resumed "))
                    Assert.Fail($"child said '{ready}', stderr: {await child.StandardError.ReadToEndAsync()}");
                Assert.Equal(newestSeen, long.Parse(ready["resumed ".Length..]));
                // On a loaded machine a child may be killed before it commits anything new; every other kill first
                // waits (bounded) for a newer commit, so the campaign always exercises resuming from fresh ones.
                if (kill % 2 == 1)
                {
                    var until = DateTime.UtcNow.AddSeconds(20);
                    while (DateTime.UtcNow < until && (directory.Newest()?.Step ?? 0) <= newestSeen) await Task.Delay(20);
                }
                await Task.Delay(rng.Next(0, 1000));
            }
            finally
            {
                child.Kill(); // SIGKILL on Unix: no finally blocks, no flushes in the child
                await child.WaitForExitAsync();
            }

            if (Directory.EnumerateDirectories(_folder.Path, "step-*.tmp-*").Any()) killsMidCommit++;
            var newest = directory.Newest();
            if (newest is null) continue;
            Assert.True(newest.Step >= newestSeen, $"kill {kill}: newest step went back from {newestSeen} to {newest.Step}");
            if (newest.Step > newestSeen) killsAfterProgress++;
            var tracked = directory.TrackedStep();
            Assert.True(tracked is null || directory.Complete().Any(c => c.Step == tracked),
                $"kill {kill}: the tracker names step {tracked}, which is not complete");

            using var checkpoint = CheckpointDirectory.Open(newest); // verifies every checksum
            while (reference.Step < newest.Step) reference.Advance();
            var loaded = new DeterministicTraining(CrashLoop.Tensors, CrashLoop.Elements);
            loaded.Load(checkpoint);
            Assert.Equal(newest.Step, loaded.Step);
            for (int i = 0; i < reference.Weights.Length; i++)
                Assert.True(reference.Weights[i].AsSpan().SequenceEqual(loaded.Weights[i]), $"kill {kill}: step {newest.Step} tensor {i} differs");
            newestSeen = newest.Step;
        }

        output.WriteLine($"{kills} kills, {killsAfterProgress} after new commits, {killsMidCommit} left an interrupted commit behind; last step {newestSeen}");
        Assert.True(killsAfterProgress >= kills / 3, $"only {killsAfterProgress} of {kills} kills came after new checkpoints; the child made too little progress");
    }

    Process StartChild()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Ckpt.Bench.Resilience.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { dll, "crashloop", "--dir", _folder.Path }) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }
}
