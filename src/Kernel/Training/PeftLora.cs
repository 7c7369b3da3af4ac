using Ckpt.Formats.Safetensors;
using Ckpt.Models;

namespace Ckpt.Training;

/// <summary>
/// LoRA adapters compatible with PEFT: attach fresh ones, load and save `adapter_config.json` +
/// `adapter_model.safetensors` (keys `base_model.model.&lt;HF module path&gt;.lora_{A,B}.weight`), switch them off
/// for a reference pass, and merge them into the base weights.
/// </summary>
public static class PeftLora
{
    /// <summary>PeftModel wraps the HF model as `base_model.model`; saved keys carry that prefix without the adapter name.</summary>
    public const string KeyPrefix = "base_model.model.";
    public const string WeightsFile = "adapter_model.safetensors";
    public const string ConfigFile = "adapter_config.json";
    static readonly string[] ChildNames = ["lora_A", "lora_B"];

    /// <summary>Attaches a fresh adapter (PEFT init: B = 0, so the model's output is unchanged) to every targeted linear layer.</summary>
    public static IReadOnlyList<string> Attach(CausalLanguageModel model, LoraConfig config, ScalarType? dtype = null, long? seed = null)
    {
        var generator = seed is null ? null : new Generator((ulong)seed.Value, CPU);
        var attached = new List<string>();
        foreach (var (path, layer) in model.Projections().ToList())
        {
            if (!config.Targets(path)) continue;
            if (layer.FanInFanOut != config.FanInFanOut && model.Config is LlamaConfig)
                throw new ArgumentException($"fan_in_fan_out={config.FanInFanOut} does not match {path}");
            var adapter = new LoraAdapter(layer.InFeatures, layer.OutFeatures, config.R, config.Scaling, config.Dropout,
                // PEFT autocast_adapter_dtype: adapters on a bf16/f16 base are kept in fp32.
                dtype ?? (layer.Weight.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? ScalarType.Float32 : layer.Weight.dtype), model.Device);
            adapter.ResetParameters(generator);
            adapter.A.Weight.requires_grad = true;
            adapter.B.Weight.requires_grad = true;
            layer.Attach(adapter, [("lora_A", adapter.A), ("lora_B", adapter.B)]);
            attached.Add(path);
        }
        generator?.Dispose();
        if (attached.Count == 0)
            throw new ArgumentException($"no linear layer matches target_modules [{string.Join(", ", config.TargetModules)}]");
        return attached;
    }

    /// <summary>Loads a PEFT adapter folder onto <paramref name="model"/>; returns its config.</summary>
    public static LoraConfig Load(CausalLanguageModel model, string adapterDirectory, CancellationToken cancellationToken = default)
    {
        var config = LoraConfig.Read(Path.Combine(adapterDirectory, "adapter_config.json"));
        var weights = Path.Combine(adapterDirectory, "adapter_model.safetensors");
        if (!File.Exists(weights))
            throw new CheckpointFormatException(FormatErrorReason.MissingFile, adapterDirectory, null,
                "the adapter folder has no adapter_model.safetensors (adapter_model.bin needs the torch.save reader)", "adapter_model.safetensors", "none");
        using var file = Checkpoint.Open(weights, cancellationToken);
        var attached = Attach(model, config);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        using (no_grad())
        {
            foreach (var path in attached)
            {
                var adapter = (LoraAdapter)Layer(model, path).Adapter!;
                foreach (var (child, parameter) in new[] { ("lora_A", adapter.A.Weight), ("lora_B", adapter.B.Weight) })
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var key = $"{KeyPrefix}{path}.{child}.weight";
                    expected.Add(key);
                    var entry = file.GetEntry(key);
                    if (!entry.Shape.SequenceEqual(parameter.shape))
                        throw new CheckpointFormatException(FormatErrorReason.InvalidShape, weights, key, "the adapter weight does not fit the model",
                            "[" + string.Join(", ", parameter.shape) + "]", entry.ShapeText);
                    using var data = file.Read(key, cancellationToken: cancellationToken);
                    using var t = data.ToTorch(parameter.device, parameter.dtype);
                    parameter.copy_(t);
                }
            }
        }
        var stray = file.Manifest.Tensors.Select(t => t.Name).FirstOrDefault(n => !expected.Contains(n));
        if (stray is not null)
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, weights, stray,
                "the adapter holds a weight for a module this model or config does not target");
        return config;
    }

    /// <summary>Writes adapter_config.json and adapter_model.safetensors (F32 unless the adapter is in another dtype) as PEFT does.</summary>
    public static void Save(CausalLanguageModel model, LoraConfig config, string adapterDirectory, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(adapterDirectory);
        var sources = new List<TensorSource>();
        foreach (var (path, layer) in model.Projections())
        {
            if (layer.Adapter is not LoraAdapter adapter) continue;
            foreach (var (child, parameter) in new[] { ("lora_A", adapter.A.Weight), ("lora_B", adapter.B.Weight) })
            {
                var p = parameter;
                var name = $"{KeyPrefix}{path}.{child}.weight";
                sources.Add(new TensorSource(name, TorchInterop.ToDType(p.dtype), p.shape, () => p.ToTensorData(name)));
            }
        }
        if (sources.Count == 0) throw new InvalidOperationException("the model has no LoRA adapter to save");
        SafetensorsWriter.Write(Path.Combine(adapterDirectory, WeightsFile), sources,
            new Dictionary<string, string> { ["format"] = "pt" }, cancellationToken: cancellationToken);
        // Both through temp + fsync + rename: a run killed here leaves the previous adapter or the new one, never half a file.
        Resilience.DurableFiles.WriteAtomically(Path.Combine(adapterDirectory, ConfigFile), System.Text.Encoding.UTF8.GetBytes(config.ToJson()));
    }

    /// <summary>Turns every adapter off until disposed: the reference model of DPO without a second copy of the weights.</summary>
    public static IDisposable Disabled(CausalLanguageModel model)
    {
        var layers = model.Projections().Select(p => p.Layer).Where(l => l.Adapter is not null && l.AdapterEnabled).ToList();
        foreach (var l in layers) l.AdapterEnabled = false;
        return new Undo(() => { foreach (var l in layers) l.AdapterEnabled = true; });
    }

    /// <summary>W ← W + scaling · (B @ A) for every adapter, then removes the adapters (PEFT merge_and_unload).</summary>
    public static int MergeAndUnload(CausalLanguageModel model)
    {
        int merged = 0;
        using var noGrad = no_grad();
        foreach (var (_, layer) in model.Projections().ToList())
        {
            if (layer.Adapter is not LoraAdapter adapter) continue;
            if (layer.QuantizedBase is not null)
                throw new InvalidOperationException("merge into a dequantized (bf16/f32) base and re-quantize afterwards, as PEFT advises");
            // As PEFT's `weight.data += delta`: added in fp32 and rounded once to the weight's dtype (LoraMerge does the same).
            using (var scope = NewDisposeScope())
                layer.Weight.copy_(layer.Weight.to(ScalarType.Float32).Plus(adapter.Delta(layer.FanInFanOut).to(ScalarType.Float32)));
            layer.Detach(ChildNames)?.Dispose();
            merged++;
        }
        return merged;
    }

    static Projection Layer(CausalLanguageModel model, string path) => model.Projections().First(p => p.Path == path).Layer;
}
