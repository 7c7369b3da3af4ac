using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.S3.Transfer;
using Ckpt.Benchmarks;
using Ckpt.Storage;
using Ckpt.Tests.Cli;

namespace Ckpt.Tests.ObjectStores;

/// <summary>
/// The figures of docs/performance.md ("Object storage"), measured against the local s3rver in one run. Opt-in:
/// `CKPT_OBJSTORE_FIGURES=1 dotnet test --filter FullyQualifiedName~ObjectStoreFigures` (about 1 GB is written and
/// read back; CKPT_OBJSTORE_FIGURES_BYTES changes the size). Writes bench/results/objstore-s3-loopback.json.
/// </summary>
[Collection(ObjectStoreCollection.Name)]
public class ObjectStoreFigures(ObjectStoreServers servers)
{
    [FiguresFact]
    [Trait("Category", "slow")]
    public void Inspect_fetches_headers_only_and_reshard_fetches_what_it_needs_at_a_throughput_near_the_sdk()
    {
        long size = long.TryParse(Environment.GetEnvironmentVariable("CKPT_OBJSTORE_FIGURES_BYTES"), out var b) ? b : 1L << 30;
        var results = new JsonObject { ["machine"] = "2-core shared VM (other engineers' builds running), loopback s3rver 3.7.1 (node " + NodeVersion() + ")" };

        var dcp = TestPaths.Fixture("dcp-fsdp2-4rank");
        var dcpUrl = servers.UploadFolder("s3", dcp);
        using (var ckpt = Checkpoint.Open(dcpUrl))
            results["inspectDcp4Rank"] = new JsonObject
            {
                ["objectBytes"] = ((ObjectStorage)ckpt.Storage).Objects.Values.Sum(),
                ["metadataBytesFetched"] = ckpt.Storage.Statistics.MetadataBytesRead,
                ["tensorBytesFetched"] = ckpt.Storage.Statistics.TensorBytesRead,
                ["requests"] = ckpt.Storage.Statistics.ReadCalls,
            };

        var local = TestPaths.TempDirectory("figures-source");
        SyntheticCheckpoint.Write(local, size, shards: 4, overwrite: true);
        var url = ObjectUrl.Parse($"s3://{servers.CreateBucket("s3")}/synthetic");
        var watch = Stopwatch.StartNew();
        using (var s = ObjectStorage.Open(url))
            foreach (var f in Directory.EnumerateFiles(local)) s.Upload(Path.GetFileName(f), f);
        long objectBytes = Directory.EnumerateFiles(local).Sum(f => new FileInfo(f).Length);
        results["upload"] = new JsonObject { ["bytes"] = objectBytes, ["seconds"] = watch.Elapsed.TotalSeconds };

        // The SDK's own parallel download of the same objects, in the same run.
        var sdkDir = TestPaths.TempDirectory("figures-sdk");
        watch.Restart();
        using (var client = S3Storage.CreateClient())
        {
            var transfer = new TransferUtility(client, new TransferUtilityConfig { ConcurrentServiceRequests = 8 });
            transfer.DownloadDirectoryAsync(new TransferUtilityDownloadDirectoryRequest
            {
                BucketName = url.Bucket, S3Directory = url.Prefix, LocalDirectory = sdkDir, DownloadFilesConcurrently = true,
            }).GetAwaiter().GetResult();
        }
        var sdkSeconds = watch.Elapsed.TotalSeconds;
        results["sdkTransferUtilityDownload"] = new JsonObject { ["bytes"] = objectBytes, ["seconds"] = sdkSeconds, ["MBps"] = objectBytes / 1e6 / sdkSeconds };
        Directory.Delete(sdkDir, recursive: true);

        var outDir = TestPaths.TempDirectory("figures-reshard");
        watch.Restart();
        var r = CliRunner.Run("reshard", url.ToString(), "--world-size", "2", "--out", outDir, "--overwrite", "--json");
        var reshardSeconds = watch.Elapsed.TotalSeconds;
        Assert.True(r.Code == 0, r.Err);
        var report = JsonNode.Parse(r.Out)!;
        long fetched = report["sourceBytesRead"]!.GetValue<long>();
        long needed = report["ranks"]!.AsArray().Sum(x => x!["bytesNeeded"]!.GetValue<long>());
        results["reshardBucketToLocal"] = new JsonObject
        {
            ["worldSize"] = 2, ["bytesNeeded"] = needed, ["bytesFetched"] = fetched, ["ratio"] = (double)fetched / needed,
            ["seconds"] = reshardSeconds, ["fetchMBps"] = fetched / 1e6 / reshardSeconds,
        };
        Directory.Delete(outDir, recursive: true);
        Directory.Delete(local, recursive: true);

        var path = Path.Combine(TestPaths.RepoRoot, "bench", "results", "objstore-s3-loopback.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Assert.True(fetched <= needed * 1.02, $"fetched {fetched} of {needed} needed");
    }

    static string NodeVersion()
    {
        using var p = Process.Start(new ProcessStartInfo("node", "--version") { RedirectStandardOutput = true })!;
        var v = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return v;
    }
}

/// <summary>Runs only when CKPT_OBJSTORE_FIGURES is set: it moves about a gigabyte through the local server.</summary>
public sealed class FiguresFactAttribute : FactAttribute
{
    public FiguresFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CKPT_OBJSTORE_FIGURES")))
            Skip = "set CKPT_OBJSTORE_FIGURES=1 to measure the object-storage figures";
    }
}
