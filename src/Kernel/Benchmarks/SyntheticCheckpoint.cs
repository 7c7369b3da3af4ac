using Ckpt.Formats.Safetensors;

namespace Ckpt.Benchmarks;

/// <summary>
/// Writes a LLaMA-shaped sharded safetensors checkpoint of random bf16 weights of about the requested size,
/// for benchmarks: same names and shapes a real model has, so planning and sharding behave realistically.
/// </summary>
public static class SyntheticCheckpoint
{
    /// <summary>Staged and moved into place when complete, like every output (<see cref="Outputs.OutputFolder"/>).</summary>
    public static ShardedWriteResult Write(string directory, long approximateBytes, int shards, int hidden = 2048, int seed = 0, bool overwrite = false,
        IProgress<Monitoring.ByteProgress>? progress = null)
    {
        // Checked before any byte is written: 0 shards divides by zero below, a size of 0 would still write a layer.
        if (shards < 1) throw new ArgumentException($"--shards {shards} must be at least 1");
        if (approximateBytes <= 0) throw new ArgumentException($"--size {approximateBytes} bytes must be more than 0");
        if (hidden <= 0 || hidden % 128 != 0)
            throw new ArgumentException($"hidden size {hidden} is not a positive multiple of 128 (the heads are 128 wide)");
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
        using var output = Outputs.OutputFolder.Begin(directory, [], overwrite);
        WriteConfig(output.Staging, hidden, ffn, vocab, layers);
        long total = tensors.Sum(t => t.ByteCount);
        // Greedy cutting at tensor boundaries can spill into one more shard: grow the limit until it doesn't.
        long max = (total + shards - 1) / shards;
        while (ShardedSafetensorsWriter.Split(tensors, max).Count > shards) max += max / 100 + 1;
        var timeline = progress is null ? null : new Monitoring.OperationTimeline("bench generate") { Progress = progress, ExpectedBytes = total };
        var written = ShardedSafetensorsWriter.Write(output.Staging, tensors, max, timeline: timeline);
        output.Commit();
        return written with { Files = written.Files.Select(output.Final).ToArray(), IndexFile = written.IndexFile is { } i ? output.Final(i) : null };
    }

    /// <summary>A transformers LlamaConfig for the weights, so both TorchSharp and transformers can load them.</summary>
    static void WriteConfig(string directory, int hidden, int ffn, int vocab, int layers)
    {
        Directory.CreateDirectory(directory);
        int heads = hidden / 128;
        File.WriteAllText(Path.Combine(directory, "config.json"), System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["architectures"] = new[] { "LlamaForCausalLM" },
            ["model_type"] = "llama",
            ["hidden_size"] = hidden,
            ["intermediate_size"] = ffn,
            ["num_attention_heads"] = heads,
            ["num_key_value_heads"] = heads,
            ["num_hidden_layers"] = layers,
            ["vocab_size"] = vocab,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 10000.0,
            ["max_position_embeddings"] = 4096,
            ["hidden_act"] = "silu",
            ["tie_word_embeddings"] = false,
            ["torch_dtype"] = "bfloat16",
        }));
    }

    /// <summary>bf16 values of magnitude 2^-7..2^-5 with random signs and mantissas: finite, so forwards stay finite.</summary>
    static TensorSource Random(string name, long[] shape, int seed) => new(name, DType.BF16, shape, () =>
    {
        var data = new TensorData(name, DType.BF16, shape);
        ulong state = (ulong)HashCode.Combine(seed, name.GetHashCode(StringComparison.Ordinal)) | 1;
        for (long o = 0; o < data.ByteLength; o += 1 << 24)
        {
            var span = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(data.Slice(o, (int)Math.Min(1 << 24, data.ByteLength - o)));
            for (int i = 0; i < span.Length; i++)
            {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                uint r = (uint)(state >> 32);
                uint exponent = 120 + r % 3;
                span[i] = (ushort)(((r >> 8) & 0x8000) | (exponent << 7) | ((r >> 16) & 0x7F));
            }
        }
        return data;
    });
}
