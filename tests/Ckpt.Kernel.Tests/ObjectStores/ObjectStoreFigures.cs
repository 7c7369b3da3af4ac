using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.S3.Transfer;
using Azure.Storage;
using Azure.Storage.Blobs.Models;
using Ckpt.Benchmarks;
using Ckpt.Resharding;
using Ckpt.Storage;
using Ckpt.Tests.Cli;
using Xunit.Abstractions;

namespace Ckpt.Tests.ObjectStores;

/// <summary>
/// The figures of docs/performance.md ("Object storage"), measured against the local servers in one run (bench/objstore.sh
/// runs it). Opt-in: `CKPT_OBJSTORE_FIGURES=1 dotnet test --filter FullyQualifiedName~ObjectStoreFigures`; about 1 GB
/// is generated, uploaded and read back per server (CKPT_OBJSTORE_FIGURES_BYTES changes the size,
/// CKPT_OBJSTORE_FIGURES_SCHEMES the servers: "az,s3" by default). Per server: inspect of the 4-rank DCP fixture
/// (bytes fetched), the SDK's own parallel download of the synthetic checkpoint's objects, Ckpt's planned read of every
/// target rank's shards, and `ckpt reshard` bucket → bucket; bytes fetched / needed and throughput ratios are printed
/// and written to bench/results/objstore-&lt;scheme&gt;-loopback.json.
/// </summary>
[Collection(ObjectStoreCollection.Name)]
public class ObjectStoreFigures(ObjectStoreServers servers, ITestOutputHelper output)
{
    [FiguresFact]
    [Trait("Category", "slow")]
    public void Inspect_fetches_headers_only_and_reshard_fetches_what_it_needs_at_a_throughput_near_the_sdk()
    {
        long size = long.TryParse(Environment.GetEnvironmentVariable("CKPT_OBJSTORE_FIGURES_BYTES"), out var b) ? b : 1L << 30;
        var schemes = (Environment.GetEnvironmentVariable("CKPT_OBJSTORE_FIGURES_SCHEMES") ?? "az,s3").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var local = TestPaths.TempDirectory("figures-source");
        SyntheticCheckpoint.Write(local, size, shards: 4, overwrite: true);
        long objectBytes = Directory.EnumerateFiles(local).Sum(f => new FileInfo(f).Length);
        var failures = new List<string>();
        foreach (var scheme in schemes)
        {
            var results = Measure(scheme, local, objectBytes);
            var path = Path.Combine(TestPaths.RepoRoot, "bench", "results", $"objstore-{scheme}-loopback.json");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var text = results.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            File.WriteAllText(path, text + "\n");
            output.WriteLine(text);
            Console.Error.WriteLine(text);
            var ratio = results["reshardBucketToBucket"]!["fetchedToNeeded"]!.GetValue<double>();
            if (ratio > 1.02) failures.Add($"{scheme}: reshard fetched {ratio:F4}x the bytes it needs");
        }
        Directory.Delete(local, recursive: true);
        Assert.Empty(failures);
    }

    JsonObject Measure(string scheme, string local, long objectBytes)
    {
        var server = scheme == ObjectUrl.S3 ? "s3rver 3.7.1" : "Azurite 3.37.0";
        var results = new JsonObject
        {
            ["machine"] = $"2-core shared VM under load (other engineers' builds running), loopback {server} (node {NodeVersion()})",
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd"),
        };

        var dcp = TestPaths.Fixture("dcp-fsdp2-4rank");
        var dcpUrl = servers.UploadFolder(scheme, dcp);
        using (var ckpt = Checkpoint.Open(dcpUrl))
            results["inspectDcp4Rank"] = new JsonObject
            {
                ["objectBytes"] = ((ObjectStorage)ckpt.Storage).Objects.Values.Sum(),
                ["metadataBytesFetched"] = ckpt.Storage.Statistics.MetadataBytesRead,
                ["tensorBytesFetched"] = ckpt.Storage.Statistics.TensorBytesRead,
                ["requests"] = ckpt.Storage.Statistics.ReadCalls,
            };

        var url = ObjectUrl.Parse($"{scheme}://{servers.CreateBucket(scheme)}/synthetic");
        var watch = Stopwatch.StartNew();
        using (var s = ObjectStorage.Open(url))
            foreach (var f in Directory.EnumerateFiles(local)) s.Upload(Path.GetFileName(f), f);
        results["upload"] = Rate(objectBytes, watch.Elapsed.TotalSeconds);

        // The SDK's own parallel download of the same objects, in the same run.
        var sdk = SdkDownload(scheme, url, objectBytes);
        results["sdkDownload"] = sdk;

        // Ckpt's planned ranged GETs of every target rank's shards, into memory: the reshard's reads without its writes.
        var layout = new LayoutRequest(LayoutKind.Dtensor, 2).Resolve();
        using (var ckpt = Checkpoint.Open(url.ToString()))
        {
            long needed = 0, fetched = ckpt.Storage.Statistics.TensorBytesRead;
            watch.Restart();
            for (int rank = 0; rank < layout.WorldSize; rank++)
            {
                using var read = ckpt.ReadForRank(layout, rank);
                needed += read.Plan.BytesNeeded;
            }
            var seconds = watch.Elapsed.TotalSeconds;
            fetched = ckpt.Storage.Statistics.TensorBytesRead - fetched;
            var r = Rate(fetched, seconds);
            r["bytesNeeded"] = needed;
            r["fetchedToNeeded"] = (double)fetched / needed;
            r["gets"] = ckpt.Storage.Statistics.ReadCalls;
            r["peakBytesInFlight"] = ckpt.Storage.Tuning.PeakBytesInFlight;
            r["toSdk"] = r["MBps"]!.GetValue<double>() / sdk["MBps"]!.GetValue<double>();
            results["readEveryRank"] = r;
        }

        var outUrl = $"{scheme}://{servers.CreateBucket(scheme)}/resharded";
        watch.Restart();
        var run = CliRunner.Run("reshard", url.ToString(), "--world-size", "2", "--out", outUrl, "--json");
        var reshardSeconds = watch.Elapsed.TotalSeconds;
        Assert.True(run.Code == 0, run.Err);
        var report = JsonNode.Parse(run.Out)!;
        long fetchedBytes = report["sourceBytesRead"]!.GetValue<long>();
        long neededBytes = report["ranks"]!.AsArray().Sum(x => x!["bytesNeeded"]!.GetValue<long>());
        var reshard = Rate(fetchedBytes, reshardSeconds);
        reshard["worldSize"] = 2;
        reshard["bytesNeeded"] = neededBytes;
        reshard["fetchedToNeeded"] = (double)fetchedBytes / neededBytes;
        reshard["toSdk"] = reshard["MBps"]!.GetValue<double>() / sdk["MBps"]!.GetValue<double>();
        // The ranks load (read) and write concurrently: the longest rank's load time is the read phase's wall time.
        double load = report["ranks"]!.AsArray().Max(x => x!["seconds"]?["load"]?.GetValue<double>() ?? 0);
        reshard["loadSeconds"] = Math.Round(load, 2);
        reshard["loadMBps"] = Math.Round(fetchedBytes / 1e6 / load, 1);
        reshard["loadToSdk"] = fetchedBytes / 1e6 / load / sdk["MBps"]!.GetValue<double>();
        reshard["includes"] = "a dotnet process start, planning, writing the 2-rank DCP to a local staging folder with fsync, uploading it";
        results["reshardBucketToBucket"] = reshard;
        return results;
    }

    /// <summary>The SDK's own parallel download of every object under <paramref name="url"/> to files (TransferUtility / DownloadToAsync, 8 at a time).</summary>
    internal static JsonObject SdkDownload(string scheme, ObjectUrl url, long objectBytes)
    {
        var sdkDir = TestPaths.TempDirectory("figures-sdk");
        var watch = Stopwatch.StartNew();
        if (scheme == ObjectUrl.S3)
        {
            using var client = S3Storage.CreateClient();
            var transfer = new TransferUtility(client, new TransferUtilityConfig { ConcurrentServiceRequests = 8 });
            transfer.DownloadDirectoryAsync(new TransferUtilityDownloadDirectoryRequest
            {
                BucketName = url.Bucket, S3Directory = url.Prefix, LocalDirectory = sdkDir, DownloadFilesConcurrently = true,
            }).GetAwaiter().GetResult();
        }
        else
        {
            var container = AzureBlobStorage.CreateContainerClient(url);
            var transfer = new StorageTransferOptions { MaximumConcurrency = 8, InitialTransferSize = 8 << 20, MaximumTransferSize = 8 << 20 };
            Task.WhenAll(container.GetBlobs(BlobTraits.None, BlobStates.None, url.Prefix + "/", CancellationToken.None).Select(blob => container.GetBlobClient(blob.Name).DownloadToAsync(
                Path.Combine(sdkDir, Path.GetFileName(blob.Name)), new BlobDownloadToOptions { TransferOptions = transfer }))).GetAwaiter().GetResult();
        }
        var sdk = Rate(objectBytes, watch.Elapsed.TotalSeconds);
        sdk["api"] = scheme == ObjectUrl.S3 ? "TransferUtility.DownloadDirectoryAsync, 8 requests, to files"
            : "BlobClient.DownloadToAsync of every blob at once, 8 MiB ranges, 8 per blob, to files";
        Assert.Equal(objectBytes, Directory.EnumerateFiles(sdkDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length));
        Directory.Delete(sdkDir, recursive: true);
        return sdk;
    }

    internal static JsonObject Rate(long bytes, double seconds) =>
        new() { ["bytes"] = bytes, ["seconds"] = Math.Round(seconds, 2), ["MBps"] = Math.Round(bytes / 1e6 / seconds, 1) };

    internal static string NodeVersion()
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
