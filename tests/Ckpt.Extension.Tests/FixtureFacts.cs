using System.Text.Json;
using Ckpt.Manifest;
using Ckpt.Tensors;

namespace Ckpt.Extension.Tests;

/// <summary>What the fixtures hold, from the files PyTorch wrote beside them rather than from the readers under test.</summary>
static class FixtureFacts
{
    public static string Llama => TestPaths.Fixture("hf-llama-tiny-sharded");

    /// <summary>The tiny LLaMA's parameter count from its config.json alone.</summary>
    public static long LlamaParameterCount()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(Llama, "config.json")));
        long Get(string key) => config.RootElement.GetProperty(key).GetInt64();
        long vocab = Get("vocab_size"), hidden = Get("hidden_size"), layers = Get("num_hidden_layers"), ffn = Get("intermediate_size");
        long headDim = Get("head_dim"), heads = Get("num_attention_heads"), kvHeads = Get("num_key_value_heads");
        long attention = hidden * heads * headDim * 2 + hidden * kvHeads * headDim * 2;
        long perLayer = attention + 3 * hidden * ffn + 2 * hidden;
        return vocab * hidden * 2 + layers * perLayer + hidden;
    }

    /// <summary>Tensor count, parameter count and parameters by dtype of torch-save/variety.pt, from variety.meta.json.</summary>
    public static (int Tensors, long Parameters, IReadOnlyDictionary<DType, long> ByDType) Variety()
    {
        using var meta = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("torch-save/variety.meta.json")));
        var byDType = new SortedDictionary<DType, long>();
        int tensors = 0;
        foreach (var t in meta.RootElement.EnumerateObject())
        {
            tensors++;
            var shape = t.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            Assert.True(DTypes.TryFromTorchName(t.Value.GetProperty("dtype").GetString()!, out var dtype));
            byDType[dtype] = byDType.GetValueOrDefault(dtype) + Shapes.ElementCount(shape);
        }
        return (tensors, byDType.Values.Sum(), byDType);
    }

    /// <summary>The full model PyTorch gathered from the 4-rank DCP, saved as one safetensors file.</summary>
    public static string DcpReference => TestPaths.Fixture("dcp-dtensor1d-4rank/reference_full_model.safetensors");
}
