namespace Ckpt.Models;

/// <summary>
/// Fills a model's parameters from a checkpoint by HF name, one tensor at a time through
/// <see cref="Checkpoint.Read"/> (so any format with a reader works: sharded safetensors, .bin, DCP).
/// Names may carry a wrapper prefix (`model.` from a training state dict) or lack GPT-2's `transformer.`.
/// </summary>
static class WeightLoader
{
    public static void Load(CausalLanguageModel model, Checkpoint checkpoint, CancellationToken cancellationToken)
    {
        var parameters = model.named_parameters().Where(p => IsBaseWeight(p.name)).ToList();
        var prefix = InferPrefix(checkpoint, parameters[0].name);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in parameters)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var key = Candidates(name).Select(c => prefix + c).FirstOrDefault(k => checkpoint.Manifest.Find(k) is not null)
                ?? throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, checkpoint.Path, prefix + name,
                    $"the {model.Config.ModelType} model needs this weight and the checkpoint lacks it");
            var entry = checkpoint.Manifest.Find(key)!;
            if (!entry.Shape.SequenceEqual(parameter.shape))
                throw new CheckpointFormatException(FormatErrorReason.InvalidShape, checkpoint.Path, key,
                    "the weight's shape does not match the model config", Shapes(parameter.shape), Shapes(entry.Shape));
            using var data = checkpoint.Read(key, cancellationToken: cancellationToken);
            using var source = data.ToTorch(parameter.device, parameter.dtype);
            parameter.copy_(source);
        }
    }

    /// <summary>Adapter and quantized weights are not in a base checkpoint.</summary>
    internal static bool IsBaseWeight(string name) =>
        !name.Contains(".lora_A.", StringComparison.Ordinal) && !name.Contains(".lora_B.", StringComparison.Ordinal)
        && !name.Contains(".quantized.", StringComparison.Ordinal);

    static IEnumerable<string> Candidates(string name)
    {
        yield return name;
        // GPT-2 hub files are saved from GPT2Model, without the `transformer.` of GPT2LMHeadModel.
        if (name.StartsWith("transformer.", StringComparison.Ordinal)) yield return name["transformer.".Length..];
    }

    static string InferPrefix(Checkpoint checkpoint, string firstParameter)
    {
        foreach (var candidate in Candidates(firstParameter))
        {
            if (checkpoint.Manifest.Find(candidate) is not null) return "";
            var wrapped = checkpoint.Manifest.Tensors.FirstOrDefault(t => t.Name.EndsWith("." + candidate, StringComparison.Ordinal));
            if (wrapped is not null) return wrapped.Name[..^candidate.Length];
        }
        return "";
    }

    static string Shapes(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
