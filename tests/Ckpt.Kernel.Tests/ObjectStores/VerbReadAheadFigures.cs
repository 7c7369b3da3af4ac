using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ckpt.Conversion;
using Ckpt.Formats.Safetensors;
using Ckpt.Inspection;
using Ckpt.Merging;
using Ckpt.Planning;
using Ckpt.Storage;
using Ckpt.Tensors;
using Xunit.Abstractions;

namespace Ckpt.Tests.ObjectStores;

/// <summary>
/// The verbs' read-ahead figures of docs/performance.md, measured against the local servers in one run (bench/readahead.sh
/// runs it after <see cref="ReadAheadFigures"/>). Opt-in: `CKPT_OBJSTORE_FIGURES=1 dotnet test --filter
/// FullyQualifiedName~VerbReadAheadFigures`. Two checkpoints of 500 f32 tensors of 4-64 KiB (one safetensors object each,
/// the second the first plus noise); per server, three rounds of `convert` (safetensors → safetensors, to a local folder)
/// of the first, `diff` of the two and a linear `merge` of the two (into memory), each with read-ahead off (one GET per
/// tensor: the path before read-ahead, which local disks keep) and on; the best round
/// of each, its GETs and its bytes fetched / needed go to bench/results/readahead-verbs-&lt;scheme&gt;-loopback.json.
/// </summary>
[Collection(ObjectStoreCollection.Name)]
public class VerbReadAheadFigures(ObjectStoreServers servers, ITestOutputHelper output)
{
    const int Rounds = 3;

    [FiguresFact]
    [Trait("Category", "slow")]
    public void Convert_and_diff_of_many_small_tensors_with_read_ahead_off_and_on()
    {
        var schemes = (Environment.GetEnvironmentVariable("CKPT_OBJSTORE_FIGURES_SCHEMES") ?? "az,s3").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var random = new Random(18);
        var sizes = Enumerable.Range(0, 500).Select(_ => (long)random.Next(1, 17) * 4096).ToArray();
        var a = Write("readahead-verbs-a", sizes, 0);
        var b = Write("readahead-verbs-b", sizes, 1);
        foreach (var scheme in schemes)
        {
            var server = scheme == ObjectUrl.S3 ? "s3rver 3.7.1" : "Azurite 3.37.0";
            var results = new JsonObject
            {
                ["machine"] = $"2-core shared VM under load (other engineers' builds running), loopback {server} (node {ObjectStoreFigures.NodeVersion()})",
                ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd"),
                ["tensors"] = sizes.Length,
                ["objectBytes"] = new FileInfo(Path.Combine(a, "model.safetensors")).Length,
            };
            var urlA = servers.UploadFolder(scheme, a, "readahead");
            var urlB = servers.UploadFolder(scheme, b, "readahead");
            results["convert"] = Best(requests =>
            {
                using var ckpt = Open(urlA, requests);
                var outDir = Path.Combine(TestPaths.TempDirectory("readahead-verbs-out"), "out");
                return Time([ckpt], () => CheckpointConverter.Convert(ckpt, new ConvertOptions(TargetFormat.Safetensors, outDir)));
            });
            results["diff"] = Best(requests =>
            {
                using var ca = Open(urlA, requests);
                using var cb = Open(urlB, requests);
                return Time([ca, cb], () => CheckpointDiff.Compare(ca, cb));
            });
            results["mergeLinear"] = Best(requests =>
            {
                using var session = MergeSession.Open(new MergeSpec { Method = MergeMethods.Linear, Models = [new MergeInput(urlA), new MergeInput(urlB)] });
                foreach (var input in session.Inputs) ((ObjectStorage)input.Storage).Tuning = ReadTuning.ObjectStore(readAheadRequests: requests);
                return Time([.. session.Inputs], () => MergeExecutor.Run(session, new MemoryTensorSink(), Stopwatch.StartNew(), null, CancellationToken.None));
            });
            var path = Path.Combine(TestPaths.RepoRoot, "bench", "results", $"readahead-verbs-{scheme}-loopback.json");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var text = results.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            File.WriteAllText(path, text + "\n");
            output.WriteLine(text);
            Console.Error.WriteLine(text);
        }
        Directory.Delete(a, recursive: true);
        Directory.Delete(b, recursive: true);
    }

    static Checkpoint Open(string url, int requests)
    {
        var ckpt = Checkpoint.Open(url);
        ((ObjectStorage)ckpt.Storage).Tuning = ReadTuning.ObjectStore(readAheadRequests: requests);
        return ckpt;
    }

    /// <summary>GETs, bytes fetched / needed (every tensor of every checkpoint) and the rate of one run of <paramref name="verb"/>.</summary>
    static JsonObject Time(Checkpoint[] inputs, Action verb)
    {
        long calls = inputs.Sum(c => c.Storage.Statistics.ReadCalls), bytes = inputs.Sum(c => c.Storage.Statistics.TensorBytesRead);
        var watch = Stopwatch.StartNew();
        verb();
        double seconds = watch.Elapsed.TotalSeconds;
        long fetched = inputs.Sum(c => c.Storage.Statistics.TensorBytesRead) - bytes;
        long needed = inputs.Sum(c => c.Manifest.TensorBytes);
        var r = ObjectStoreFigures.Rate(fetched, seconds);
        r["gets"] = inputs.Sum(c => c.Storage.Statistics.ReadCalls) - calls;
        r["fetchedToNeeded"] = Math.Round((double)fetched / needed, 4);
        return r;
    }

    static JsonObject Best(Func<int, JsonObject> run)
    {
        var modes = new Dictionary<string, JsonObject?> { ["perTensor"] = null, ["readAhead"] = null };
        for (int round = 0; round < Rounds; round++)
            foreach (var mode in modes.Keys.ToArray())
            {
                var r = run(mode == "readAhead" ? 8 : 0);
                if (modes[mode] is not { } best || r["seconds"]!.GetValue<double>() < best["seconds"]!.GetValue<double>()) modes[mode] = r;
            }
        return new JsonObject { ["perTensor"] = modes["perTensor"], ["readAhead"] = modes["readAhead"], ["rounds"] = Rounds };
    }

    /// <summary>One safetensors file of f32 tensors t0000… of the given sizes (bytes); <paramref name="noise"/> 1 perturbs every value.</summary>
    static string Write(string name, long[] sizes, int noise)
    {
        var dir = TestPaths.TempDirectory(name);
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), sizes.Select((bytes, i) =>
        {
            var tensorName = $"t{i:D4}";
            return new TensorSource(tensorName, DType.F32, [bytes / 4], () =>
            {
                var data = new TensorData(tensorName, DType.F32, [bytes / 4]);
                var random = new Random(i);
                var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data.Slice(0, (int)data.ByteLength));
                for (int k = 0; k < values.Length; k++) values[k] = (float)(random.NextDouble() - 0.5) + noise * 1e-3f * (k % 7);
                return data;
            });
        }).ToArray());
        return dir;
    }
}
