using Ckpt.Models;

namespace Ckpt.Training;

/// <summary>
/// A PEFT LoRA adapter folded into its base one weight at a time, as a conversion streams the base: the weight
/// `{module}.weight` of every adapted module becomes W + scaling · (B @ A) (transposed for fan_in_fan_out, GPT-2's
/// Conv1D), every other tensor passes through untouched. The arithmetic is PEFT's merge: the delta in the adapter's
/// dtype (computed in fp32, as PEFT does on CPU for half adapters), added to the weight in fp32 and rounded once to
/// the weight's dtype (`weight.data += delta`). Only one weight and its two adapter matrices are in memory at a time.
/// </summary>
public sealed class LoraMerge : IDisposable
{
    readonly Checkpoint _adapter;
    readonly string _weightsPath;
    readonly Dictionary<string, string> _modules; // base weight name -> module path

    public LoraConfig Config { get; }
    public string Directory { get; }
    /// <summary>Base weights the adapter changes.</summary>
    public int Count => _modules.Count;

    LoraMerge(string directory, LoraConfig config, Checkpoint adapter, string weightsPath, Dictionary<string, string> modules)
    {
        Directory = directory;
        Config = config;
        _adapter = adapter;
        _weightsPath = weightsPath;
        _modules = modules;
    }

    /// <summary>
    /// Opens the adapter folder and pairs each adapted module with its base weight; an adapter module the base lacks,
    /// or an A/B pair whose shapes do not fit that weight, is refused before anything is written.
    /// </summary>
    public static LoraMerge Open(string adapterDirectory, CheckpointManifest baseManifest, CancellationToken cancellationToken = default)
    {
        var configPath = Path.Combine(adapterDirectory, "adapter_config.json");
        if (!File.Exists(configPath))
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, adapterDirectory, null,
                "the adapter folder has no adapter_config.json", "adapter_config.json", "none");
        var config = LoraConfig.Read(configPath);
        TorchNativeLibraries.Require("merging a LoRA adapter", "ckpt convert <base> --merge-adapter <adapter> --out <dir>");
        var weights = Path.Combine(adapterDirectory, "adapter_model.safetensors");
        if (!File.Exists(weights))
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, adapterDirectory, null,
                "the adapter folder has no adapter_model.safetensors", "adapter_model.safetensors", "none");
        var adapter = Checkpoint.Open(weights, cancellationToken);
        try
        {
            var modules = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in adapter.Manifest.Tensors)
            {
                var path = ModulePath(entry.Name, weights);
                if (!entry.Name.EndsWith(".lora_A.weight", StringComparison.Ordinal)) continue;
                var baseName = path + ".weight";
                var target = baseManifest.Tensors.FirstOrDefault(t => t.Name == baseName)
                    ?? throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, weights, entry.Name,
                        $"the adapter changes {baseName}, which the base checkpoint does not hold");
                var a = entry;
                var b = adapter.GetEntry($"{PeftLora.KeyPrefix}{path}.lora_B.weight");
                CheckShapes(config, weights, target, a, b);
                modules[baseName] = path;
            }
            if (modules.Count == 0)
                throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, weights, null, "the adapter holds no lora_A weight");
            return new LoraMerge(adapterDirectory, config, adapter, weights, modules);
        }
        catch
        {
            adapter.Dispose();
            throw;
        }
    }

    public bool Changes(string baseName) => _modules.ContainsKey(baseName);

    /// <summary>The merged weight, in <paramref name="weight"/>'s dtype and shape.</summary>
    public TensorData Apply(string baseName, TensorData weight, CancellationToken cancellationToken = default)
    {
        var path = _modules[baseName];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var aData = _adapter.Read($"{PeftLora.KeyPrefix}{path}.lora_A.weight", cancellationToken: cancellationToken);
        using var bData = _adapter.Read($"{PeftLora.KeyPrefix}{path}.lora_B.weight", cancellationToken: cancellationToken);
        var a = aData.ToTorch();
        var b = bData.ToTorch();
        var adapterType = b.dtype;
        var delta = b.to(ScalarType.Float32).matmul(a.to(ScalarType.Float32)).Times(Config.Scaling);
        if (Config.FanInFanOut) delta = delta.t();
        if (adapterType is ScalarType.BFloat16 or ScalarType.Float16) delta = delta.to(adapterType);
        var baseTensor = weight.ToTorch();
        var merged = baseTensor.to(ScalarType.Float32).Plus(delta.to(ScalarType.Float32)).to(baseTensor.dtype);
        return merged.contiguous().ToTensorData(baseName);
    }

    static string ModulePath(string adapterKey, string file)
    {
        foreach (var suffix in new[] { ".lora_A.weight", ".lora_B.weight" })
            if (adapterKey.StartsWith(PeftLora.KeyPrefix, StringComparison.Ordinal) && adapterKey.EndsWith(suffix, StringComparison.Ordinal))
                return adapterKey[PeftLora.KeyPrefix.Length..^suffix.Length];
        throw new CheckpointFormatException(FormatErrorReason.Unsupported, file, adapterKey,
            "the adapter holds a tensor that is not a PEFT LoRA weight", $"{PeftLora.KeyPrefix}<module>.lora_A.weight or .lora_B.weight", adapterKey);
    }

    static void CheckShapes(LoraConfig config, string file, TensorEntry target, TensorEntry a, TensorEntry b)
    {
        if (target.Shape.Count != 2 || a.Shape.Count != 2 || b.Shape.Count != 2)
            throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, a.Name,
                "LoRA merges into 2-d weights with 2-d A and B", "[out, in], [r, in], [out, r]", $"{target.ShapeText}, {a.ShapeText}, {b.ShapeText}");
        long rows = config.FanInFanOut ? target.Shape[1] : target.Shape[0];
        long cols = config.FanInFanOut ? target.Shape[0] : target.Shape[1];
        if (a.Shape[1] != cols || b.Shape[0] != rows || a.Shape[0] != b.Shape[1])
            throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, a.Name,
                $"lora_B @ lora_A does not fit {target.Name}{(config.FanInFanOut ? " (fan_in_fan_out)" : "")}",
                $"[{rows}, r] @ [r, {cols}]", $"{b.ShapeText} @ {a.ShapeText}");
    }

    public void Dispose() => _adapter.Dispose();
}
