using Ckpt.Formats.Safetensors;
using Ckpt.Tensors;

namespace Ckpt.Benchmarks;

/// <summary>
/// Writes a LLaMA-shaped sharded safetensors checkpoint of random bf16 weights of about the requested size,
/// for benchmarks: same names and shapes a real model has, so planning and sharding behave realistically.
/// </summary>
public static class SyntheticCheckpoint
{
    public static ShardedWriteResult Write(string directory, long approximateBytes, int shards, int hidden = 2048, int seed = 0)
    {
        int ffn = hidden * 8 / 3 / 64 * 64;
        int vocab = 32000;
        long perLayer = 2L * (4L * hidden * hidden + 3L * hidden * ffn + 2L * hidden);
        long embed = 2L * vocab * hidden;
        int layers = (int)Math.Max(1, (approximateBytes - 2 * embed + perLayer - 1) / perLayer);
        var tensors = new List<TensorSource> { Random("model.embed_tokens.weight", [vocab, hidden], seed) };
        for (int l = 0; l < layers; l++)
        {
            var p = $"model.layers.{l}.";
            tensors.Add(Random(p + "input_layernorm.weight", [hidden], seed + l));
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "o_proj" })
                tensors.Add(Random(p + "self_attn." + proj + ".weight", [hidden, hidden], seed + l));
            tensors.Add(Random(p + "post_attention_layernorm.weight", [hidden], seed + l));
            tensors.Add(Random(p + "mlp.gate_proj.weight", [ffn, hidden], seed + l));
            tensors.Add(Random(p + "mlp.up_proj.weight", [ffn, hidden], seed + l));
            tensors.Add(Random(p + "mlp.down_proj.weight", [hidden, ffn], seed + l));
        }
        tensors.Add(Random("model.norm.weight", [hidden], seed));
        tensors.Add(Random("lm_head.weight", [vocab, hidden], seed + 1));
        long total = tensors.Sum(t => t.ByteCount);
        // Greedy cutting at tensor boundaries can spill into one more shard: grow the limit until it doesn't.
        long max = (total + shards - 1) / shards;
        while (ShardedSafetensorsWriter.Split(tensors, max).Count > shards) max += max / 100 + 1;
        return ShardedSafetensorsWriter.Write(directory, tensors, max);
    }

    static TensorSource Random(string name, long[] shape, int seed) => new(name, DType.BF16, shape, () =>
    {
        var data = new TensorData(name, DType.BF16, shape);
        var rng = new Random(HashCode.Combine(seed, name.GetHashCode(StringComparison.Ordinal)));
        for (long o = 0; o < data.ByteLength; o += 1 << 24)
            rng.NextBytes(data.Slice(o, (int)Math.Min(1 << 24, data.ByteLength - o)));
        return data;
    });
}
