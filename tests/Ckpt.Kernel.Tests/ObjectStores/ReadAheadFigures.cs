using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ckpt.Formats.Safetensors;
using Ckpt.Planning;
using Ckpt.Resharding;
using Ckpt.Storage;
using Ckpt.Tensors;
using Xunit.Abstractions;

namespace Ckpt.Tests.ObjectStores;

/// <summary>
/// The read-ahead figures of docs/performance.md ("Object storage"), measured against the local servers in one run
/// (bench/readahead.sh runs it). Opt-in, like <see cref="ObjectStoreFigures"/>: `CKPT_OBJSTORE_FIGURES=1 dotnet test
/// --filter FullyQualifiedName~ReadAheadFigures`. Two checkpoints, one safetensors object each: 500 tensors of 4-64 KiB
/// (a rank's norms and biases) and 8 tensors of 16 MiB. Per server and checkpoint, three rounds of: the SDK's own
/// parallel download of the object, and Ckpt reading every tensor in order (ReadForRank of a 1-rank layout) with
/// read-ahead off and on; the best round of each is written to bench/results/readahead-&lt;scheme&gt;-loopback.json.
/// </summary>
[Collection(ObjectStoreCollection.Name)]
public class ReadAheadFigures(ObjectStoreServers servers, ITestOutputHelper output)
{
    const int Rounds = 3;

    [FiguresFact]
    [Trait("Category", "slow")]
    public void Reading_many_small_tensors_and_a_few_large_ones_in_order_against_the_sdk()
    {
        var schemes = (Environment.GetEnvironmentVariable("CKPT_OBJSTORE_FIGURES_SCHEMES") ?? "az,s3").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var random = new Random(18);
        var cases = new (string Name, string Folder)[]
        {
            ("manySmall", Write("readahead-small", Enumerable.Range(0, 500).Select(i => (long)random.Next(1, 17) * 4096).ToArray())),
            ("fewLarge", Write("readahead-large", Enumerable.Repeat(16L << 20, 8).ToArray())),
        };
        foreach (var scheme in schemes)
        {
            var server = scheme == ObjectUrl.S3 ? "s3rver 3.7.1" : "Azurite 3.37.0";
            var results = new JsonObject
            {
                ["machine"] = $"2-core shared VM under load (other engineers' builds running), loopback {server} (node {ObjectStoreFigures.NodeVersion()})",
                ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd"),
            };
            foreach (var (name, folder) in cases)
                results[name] = Measure(scheme, folder);
            var path = Path.Combine(TestPaths.RepoRoot, "bench", "results", $"readahead-{scheme}-loopback.json");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var text = results.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            File.WriteAllText(path, text + "\n");
            output.WriteLine(text);
            Console.Error.WriteLine(text);
        }
        foreach (var (_, folder) in cases) Directory.Delete(folder, recursive: true);
    }

    /// <summary>One safetensors file of f32 tensors t0000, t0001, … of the given sizes (in bytes), stored in that order.</summary>
    static string Write(string name, long[] sizes)
    {
        var dir = TestPaths.TempDirectory(name);
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), sizes.Select((bytes, i) =>
        {
            var tensorName = $"t{i:D4}";
            return new TensorSource(tensorName, DType.F32, [bytes / 4], () =>
            {
                var data = new TensorData(tensorName, DType.F32, [bytes / 4]);
                new Random(i).NextBytes(data.Slice(0, (int)data.ByteLength));
                return data;
            });
        }).ToArray());
        return dir;
    }

    JsonObject Measure(string scheme, string folder)
    {
        // Not "ckpt": the S3 TransferUtility refuses a prefix that names a file in the working folder (the test host's `ckpt`).
        var url = ObjectUrl.Parse(servers.UploadFolder(scheme, folder, "readahead"));
        long objectBytes = Directory.EnumerateFiles(folder).Sum(f => new FileInfo(f).Length);
        var layout = new LayoutRequest(LayoutKind.Dtensor, 1).Resolve();
        JsonObject? sdk = null;
        var modes = new Dictionary<string, JsonObject?> { ["perTensor"] = null, ["readAhead"] = null };
        for (int round = 0; round < Rounds; round++)
        {
            var s = ObjectStoreFigures.SdkDownload(scheme, url, objectBytes);
            if (sdk is null || s["MBps"]!.GetValue<double>() > sdk["MBps"]!.GetValue<double>()) sdk = s;
            foreach (var mode in modes.Keys.ToArray())
            {
                using var ckpt = Checkpoint.Open(url.ToString());
                var storage = (ObjectStorage)ckpt.Storage;
                storage.Tuning = ReadTuning.ObjectStore(readAheadRequests: mode == "readAhead" ? 8 : 0);
                long before = storage.Statistics.TensorBytesRead, calls = storage.Statistics.ReadCalls;
                var watch = Stopwatch.StartNew();
                long needed;
                using (var read = ckpt.ReadForRank(layout, 0)) needed = read.Plan.BytesNeeded;
                var r = ObjectStoreFigures.Rate(storage.Statistics.TensorBytesRead - before, watch.Elapsed.TotalSeconds);
                r["tensors"] = ckpt.Manifest.Tensors.Count;
                r["bytesNeeded"] = needed;
                r["fetchedToNeeded"] = Math.Round((double)(storage.Statistics.TensorBytesRead - before) / needed, 4);
                r["gets"] = storage.Statistics.ReadCalls - calls;
                r["peakBytesInFlight"] = storage.Tuning.PeakBytesInFlight;
                if (modes[mode] is not { } best || r["MBps"]!.GetValue<double>() > best["MBps"]!.GetValue<double>()) modes[mode] = r;
            }
        }
        var result = new JsonObject { ["objectBytes"] = objectBytes, ["rounds"] = Rounds, ["sdkDownload"] = sdk };
        foreach (var (mode, r) in modes)
        {
            r!["toSdk"] = Math.Round(r["MBps"]!.GetValue<double>() / sdk!["MBps"]!.GetValue<double>(), 2);
            result[mode] = r;
        }
        return result;
    }
}
