using System.Diagnostics;
using Ckpt.Formats.Safetensors;

namespace Ckpt.Models;

/// <summary>What `ckpt forward` computed.</summary>
public sealed record ForwardCompleted(string OutputPath, IReadOnlyList<long> LogitsShape, string ModelType, string ComputeDType,
    string Device, TimeSpan LoadTime, TimeSpan ForwardTime);

/// <summary>
/// The parity check users run after a conversion or merge: logits of a causal LM for given token ids.
/// Reads `input_ids` ([batch, seq], integer) from a safetensors file and writes `logits` ([batch, seq, vocab], F32).
/// </summary>
public static class CausalLmForward
{
    /// <param name="modelPath">Any readable checkpoint with a config.json beside it (or pass <paramref name="configPath"/>).</param>
    /// <param name="computeDType">"f32", "bf16", "f16"; null computes in the checkpoint's dtype.</param>
    /// <param name="device">"cpu", "cuda", "cuda:1" (<see cref="Tensors.ComputeDevice"/>); null is the CPU.</param>
    /// <param name="overwrite">Replace an existing <paramref name="outputPath"/> (<see cref="Outputs.OutputFile"/>).</param>
    /// <param name="adapterPath">A PEFT LoRA adapter folder applied on top of the model (the logits a fine-tune's adapter gives).</param>
    public static ForwardCompleted Run(string modelPath, string inputIdsPath, string outputPath, string? computeDType = null,
        string? device = null, string? configPath = null, CancellationToken cancellationToken = default, string? adapterPath = null,
        bool overwrite = false)
    {
        var parsed = Tensors.ComputeDevice.Parse(device);
        var dtype = Tensors.DTypeNames.Compute(computeDType);
        Outputs.OutputFile.Check(outputPath, [modelPath, inputIdsPath, configPath, adapterPath], overwrite);
        var dev = parsed.ToTorch();
        var clock = Stopwatch.StartNew();

        using var ids = ReadInputIds(inputIdsPath);
        using var ckpt = Checkpoint.Open(modelPath, cancellationToken);
        var config = configPath is null ? ModelConfig.Read(ckpt) : ModelConfig.ReadFile(configPath);
        using var model = CausalLanguageModel.Load(ckpt, config, dev, dtype, cancellationToken);
        if (adapterPath is not null) Training.PeftLora.Load(model, adapterPath, cancellationToken);
        model.eval();
        var loaded = clock.Elapsed;

        using var noGrad = no_grad();
        using var deviceIds = ids.to(dev);
        using var logits = model.Forward(deviceIds);
        using var logits32 = logits.to(ScalarType.Float32).cpu();
        var forward = clock.Elapsed - loaded;

        var shape = logits32.shape;
        Outputs.OutputFile.Prepare(outputPath);
        SafetensorsWriter.Write(outputPath, [new TensorSource("logits", DType.F32, shape, () => logits32.ToTensorData("logits"))],
            cancellationToken: cancellationToken);
        return new ForwardCompleted(outputPath, shape, config.ModelType, model.DType.ToString(), dev.ToString(), loaded, forward);
    }

    internal static Tensor ReadInputIds(string path)
    {
        using var file = Checkpoint.Open(path);
        var entry = file.GetEntry("input_ids");
        if (entry.Shape.Count != 2 || entry.DType is not (DType.I64 or DType.I32 or DType.I16 or DType.U8 or DType.I8))
            throw new CheckpointFormatException(FormatErrorReason.InvalidShape, path, "input_ids",
                "input_ids must be a [batch, seq] integer tensor", "[batch, seq] I64", $"{entry.ShapeText} {entry.DType}");
        using var data = file.Read("input_ids");
        using var t = data.ToTorch();
        return t.to(ScalarType.Int64);
    }
}
