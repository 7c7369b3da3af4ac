using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ckpt.Formats.Safetensors;
using Ckpt.Merging;
using Ckpt.Tensors;

// Merge benchmark: writes 3 LLaMA-shaped bf16 models of ≥ 1 GB each as sharded safetensors in a temp folder,
// then merges them (linear, TIES) each in a fresh child process so its peak RSS (VmHWM) is the merge's own,
// and prints one JSON document. Usage: MergeBench [--size-gb 1.0] [--keep]   (child: MergeBench merge <method> <dir>)
if (args.Length >= 3 && args[0] == "merge") return Child(args[1], args[2], args.Length > 3 ? long.Parse(args[3]) : MergeExecutor.DefaultChunkElements);

double sizeGb = args.SkipWhile(a => a != "--size-gb").Skip(1).Select(double.Parse).FirstOrDefault(1.0);
bool keep = args.Contains("--keep");
var root = Path.Combine(Path.GetTempPath(), "ckpt-mergebench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
try
{
    var gen = Stopwatch.StartNew();
    long largest = 0, modelBytes = 0;
    for (int m = 0; m < 3; m++)
    {
        var tensors = LlamaShapes((long)(sizeGb * 1e9), (ulong)m + 1);
        largest = tensors.Max(t => t.ByteCount);
        modelBytes = tensors.Sum(t => t.ByteCount);
        ShardedSafetensorsWriter.Write(Path.Combine(root, $"model-{m}"), tensors, 500_000_000);
    }
    gen.Stop();
    var runs = new JsonArray();
    foreach (var method in new[] { "linear", "ties" })
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var a in new[] { "merge", method, root }) psi.ArgumentList.Add(a);
        using var child = Process.Start(psi)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"{method} merge exited {child.ExitCode}: {output}");
        runs.Add(JsonNode.Parse(output));
        Directory.Delete(Path.Combine(root, "out-" + method), recursive: true);
    }
    var result = new JsonObject
    {
        ["models"] = 3,
        ["model_bytes"] = modelBytes,
        ["dtype"] = "BF16",
        ["largest_tensor_bytes"] = largest,
        ["rss_target_bytes"] = 3 * largest + 300_000_000,
        ["processors"] = Environment.ProcessorCount,
        ["generate_seconds"] = Math.Round(gen.Elapsed.TotalSeconds, 2),
        ["runs"] = runs,
    };
    Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    return 0;
}
finally
{
    if (!keep) Directory.Delete(root, recursive: true);
}

static int Child(string method, string root, long chunkElements)
{
    var models = Enumerable.Range(0, 3).Select(m => Path.Combine(root, $"model-{m}")).ToArray();
    var spec = method == "ties"
        ? new MergeSpec { Method = MergeMethods.Ties, BaseModel = models[0], Density = 0.5, Models = [new MergeInput(models[1], 0.5), new MergeInput(models[2], 0.5)] }
        : new MergeSpec { Method = MergeMethods.Linear, Models = models.Select(m => new MergeInput(m)).ToArray() };
    var report = MergeExecutor.RunToDirectory(spec, Path.Combine(root, "out-" + method), maxShardBytes: 500_000_000, chunkElements: chunkElements);
    Console.WriteLine(new JsonObject
    {
        ["method"] = method,
        ["input_bytes"] = report.InputBytes,
        ["bytes_read"] = report.BytesRead,
        ["bytes_written"] = report.BytesWritten,
        ["seconds"] = Math.Round(report.Seconds, 3),
        ["input_gb_per_s"] = Math.Round(report.InputGigabytesPerSecond, 3),
        ["peak_rss_bytes"] = PeakRss(),
        ["output_files"] = report.Files!.Count,
        ["chunk_elements"] = chunkElements,
        ["cpu_seconds"] = Math.Round(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, 2),
    }.ToJsonString());
    return 0;
}

static long PeakRss()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    return Process.GetCurrentProcess().PeakWorkingSet64;
}

// LLaMA-style shapes (hidden 2048, SwiGLU 5504, vocab 32000, untied head) with as many layers as reach the size.
static List<TensorSource> LlamaShapes(long bytes, ulong seed)
{
    const int hidden = 2048, ffn = 5504, vocab = 32000;
    long perLayer = 2L * (4L * hidden * hidden + 3L * hidden * ffn + 2L * hidden);
    long fixedBytes = 2L * (2L * vocab * hidden + hidden);
    int layers = (int)Math.Max(1, (bytes - fixedBytes + perLayer - 1) / perLayer);
    var t = new List<TensorSource> { Weights("model.embed_tokens.weight", [vocab, hidden], seed) };
    for (int l = 0; l < layers; l++)
    {
        var p = $"model.layers.{l}.";
        t.Add(Weights(p + "input_layernorm.weight", [hidden], seed));
        foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "o_proj" }) t.Add(Weights(p + "self_attn." + proj + ".weight", [hidden, hidden], seed));
        t.Add(Weights(p + "post_attention_layernorm.weight", [hidden], seed));
        t.Add(Weights(p + "mlp.gate_proj.weight", [ffn, hidden], seed));
        t.Add(Weights(p + "mlp.up_proj.weight", [ffn, hidden], seed));
        t.Add(Weights(p + "mlp.down_proj.weight", [hidden, ffn], seed));
    }
    t.Add(Weights("model.norm.weight", [hidden], seed));
    t.Add(Weights("lm_head.weight", [vocab, hidden], seed));
    return t;
}

// Finite bf16 values of magnitude 2^-8..2^-4 with random sign and mantissa, from xorshift64*: weight-like and fast.
static TensorSource Weights(string name, long[] shape, ulong seed) => new(name, DType.BF16, shape, () =>
{
    var data = new TensorData(name, DType.BF16, shape);
    ulong s = seed * 0x9E3779B97F4A7C15UL ^ (ulong)name.Length * 0xD1B54A32D192ED03UL ^ (ulong)name.GetHashCode() | 1;
    for (long o = 0; o < data.ByteLength; o += 1 << 24)
    {
        var span = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(data.Slice(o, (int)Math.Min(1 << 24, data.ByteLength - o)));
        for (int i = 0; i < span.Length; i++)
        {
            s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
            ulong r = s * 0x2545F4914F6CDD1DUL;
            span[i] = (ushort)((r & 0x8000) | ((119 + (r >> 16) % 4) << 7) | ((r >> 24) & 0x7F));
        }
    }
    return data;
});
