using Ckpt.Models;

namespace Ckpt.Training;

/// <summary>What the quantized base weights of a QLoRA model occupy.</summary>
public sealed record QuantizedBaseReport(int Layers, long Parameters, long StorageBytes)
{
    public double BytesPerParameter => Parameters == 0 ? 0 : StorageBytes / (double)Parameters;
}

/// <summary>
/// QLoRA's base model: every decoder linear layer stored as NF4 (double-quantized, blocks 64/256) and dequantized
/// on the fly; embeddings, norms and the LM head stay as they are (as bnb/transformers do).
/// </summary>
public static class QLora
{
    public static QuantizedBaseReport QuantizeBase(CausalLanguageModel model, int blockSize = 64, bool doubleQuant = true)
    {
        int layers = 0;
        foreach (var (_, layer) in model.Projections().ToList())
        {
            if (layer.QuantizedBase is not null) continue;
            if (layer.FanInFanOut)
                throw new NotSupportedException("QLoRA on GPT-2 Conv1D layers is not implemented; quantize LLaMA-family models");
            // bnb quantizes the [out, in] weight row-major.
            var nf4 = Nf4.Quantize(layer.Weight, blockSize, doubleQuant);
            layer.Quantize(new Nf4Linear(nf4, layer.Bias) { Failure = model.BackwardFailure });
            layers++;
        }
        return Report(model) with { Layers = layers };
    }

    public static QuantizedBaseReport Report(CausalLanguageModel model)
    {
        long parameters = 0, bytes = 0;
        int layers = 0;
        foreach (var (_, layer) in model.Projections())
        {
            if (layer.QuantizedBase is not Nf4Linear q) continue;
            layers++;
            parameters += q.Weight.ElementCount;
            bytes += q.Weight.StorageBytes;
        }
        return new QuantizedBaseReport(layers, parameters, bytes);
    }
}
