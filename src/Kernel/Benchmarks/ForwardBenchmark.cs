using System.Diagnostics;
using System.Text.Json.Nodes;
using Ckpt.Models;

namespace Ckpt.Benchmarks;

public sealed record ForwardBenchmarkResult(string Device, string DType, int Batch, int Sequence, int Iterations,
    double LoadSeconds, double MillisecondsPerForward, double TokensPerSecond, long Parameters)
{
    /// <summary>What `ckpt bench forward` prints (docs/json.md): the record itself, its properties camelCase in order.</summary>
    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, VerbJson.Line)!.AsObject();
}

/// <summary>
/// Times the TorchSharp causal-LM forward on random token ids: warm-up, then the mean of timed iterations,
/// each ended by a device-to-host copy so queued GPU work is counted.
/// </summary>
public static class ForwardBenchmark
{
    public static ForwardBenchmarkResult Run(string modelPath, int batch, int sequence, int iterations, string? device, string? dtype)
    {
        if (batch < 1 || sequence < 1 || iterations < 1)
            throw new ArgumentException($"--batch {batch}, --seq {sequence} and --iters {iterations} must each be at least 1");
        var parsed = ComputeDevice.Parse(device);
        var compute = DTypeNames.Compute(dtype);
        var dev = parsed.ToTorch();
        var clock = Stopwatch.StartNew();
        using var ckpt = Checkpoint.Open(modelPath);
        var config = ModelConfig.Read(ckpt);
        using var model = CausalLanguageModel.Load(ckpt, config, dev, compute);
        model.eval();
        double load = clock.Elapsed.TotalSeconds;
        using var noGrad = no_grad();
        using var ids = randint(0, config.VocabSize, [batch, sequence], dtype: ScalarType.Int64, device: dev);
        for (int i = 0; i < 2; i++) Sync(model.Forward(ids));
        clock.Restart();
        for (int i = 0; i < iterations; i++) Sync(model.Forward(ids));
        double ms = clock.Elapsed.TotalMilliseconds / iterations;
        return new ForwardBenchmarkResult(dev.ToString(), model.DType.ToString(), batch, sequence, iterations, load, ms,
            batch * sequence / (ms / 1000), ckpt.Manifest.ParameterCount);
    }

    static void Sync(Tensor logits)
    {
        using (logits)
        using (var last = logits[0, -1, 0].cpu()) { }
    }
}
