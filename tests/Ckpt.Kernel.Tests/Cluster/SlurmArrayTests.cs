using System.Diagnostics;
using Ckpt.Tests.Cli;
using Ckpt.Tests.ObjectStores;

namespace Ckpt.Tests.Cluster;

/// <summary>
/// scripts/cluster/slurm-reshard.sh on a real one-node Slurm cluster (slurm-wlm) against the local S3 server: a 4-task
/// job array writes the parts, the dependent finalize job commits them, and the bucket then holds the objects a single
/// local `ckpt reshard` writes.
/// </summary>
[Collection(ObjectStoreCollection.Name)]
public class SlurmArrayTests(ObjectStoreServers servers)
{
    [SlurmFact]
    [Trait("Category", "slow")]
    public void A_four_task_slurm_array_reshard_into_a_bucket_equals_the_single_process_reshard()
    {
        var fixture = TestPaths.Fixture("dcp-fsdp2-4rank");
        var input = servers.UploadFolder("s3", fixture);
        var output = $"s3://{servers.CreateBucket("s3")}/resharded";
        var local = TestPaths.TempDirectory("slurm-local");
        Assert.Equal(0, CliRunner.Run("reshard", fixture, "--world-size", "4", "--out", local, "--overwrite").Code);

        using var cluster = new SlurmCluster();
        var work = TestPaths.TempDirectory("slurm-submit");
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = work };
        foreach (var a in new[] { Path.Combine(TestPaths.RepoRoot, "scripts", "cluster", "slurm-reshard.sh"), input, output, "--world-size", "4" })
            info.ArgumentList.Add(a);
        cluster.Configure(info);
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        info.Environment["CKPT"] = $"{dotnet} {Path.Combine(AppContext.BaseDirectory, "ckpt.dll")}";
        info.Environment["CKPT_TASKS"] = "4";
        info.Environment["CKPT_WAIT"] = "1";
        using var submit = Process.Start(info)!;
        var stderr = submit.StandardError.ReadToEndAsync();
        var stdout = submit.StandardOutput.ReadToEnd();
        submit.WaitForExit();
        var jobLogs = string.Join("\n", Directory.EnumerateFiles(work, "slurm-*.out").Order().Select(f => $"--- {Path.GetFileName(f)}\n{File.ReadAllText(f)}"));
        Assert.True(submit.ExitCode == 0, $"{stdout}\n{stderr.Result}\n{jobLogs}\n{cluster.Logs()}");
        Assert.Contains("submitted the 4-task array", stdout);
        // Each task wrote its own part: 4 task logs saying so.
        Assert.Equal(4, Directory.EnumerateFiles(work, "slurm-*_*.out").Count(f => File.ReadAllText(f).Contains("wrote part ")));

        ObjectStoreReadTests.SameFiles(local, ObjectStoreWriteTests.Download(output));
    }
}
