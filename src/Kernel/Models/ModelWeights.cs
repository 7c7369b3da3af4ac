using Ckpt.Formats.Safetensors;

namespace Ckpt.Models;

/// <summary>Saves a model's base weights under their HF names, as `save_pretrained` lays them out.</summary>
public static class ModelWeights
{
    /// <summary>The base (non-adapter) weights as tensor sources, read from the live parameters when written.</summary>
    public static IReadOnlyList<TensorSource> Sources(CausalLanguageModel model) =>
        model.named_parameters()
            .Where(p => WeightLoader.IsBaseWeight(p.name))
            .Select(p =>
            {
                var (name, parameter) = p;
                return new TensorSource(name, TorchInterop.ToDType(parameter.dtype), parameter.shape, () => parameter.ToTensorData(name));
            })
            .ToList();

    /// <summary>Writes model.safetensors, or shards + model.safetensors.index.json above <paramref name="maxShardBytes"/>.</summary>
    public static ShardedWriteResult Save(CausalLanguageModel model, string directory, long maxShardBytes = 5L << 30,
        CancellationToken cancellationToken = default) =>
        ShardedSafetensorsWriter.Write(directory, Sources(model), maxShardBytes, cancellationToken: cancellationToken);
}
