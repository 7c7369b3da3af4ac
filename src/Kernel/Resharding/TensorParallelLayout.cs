using System.Text.RegularExpressions;
using Ckpt.Planning;

namespace Ckpt.Resharding;

/// <summary>How Megatron-style tensor parallelism splits one parameter.</summary>
public enum TensorParallelSplit
{
    /// <summary>Layernorms, row-parallel biases, position embeddings: every rank holds the whole tensor.</summary>
    Replicated,
    /// <summary>Column-parallel (output features): dim 0.</summary>
    Column,
    /// <summary>Row-parallel (input features): dim 1.</summary>
    Row,
    /// <summary>SwiGLU fc1 stored as [gate; up]: each rank holds its chunk of the gate half then of the up half.</summary>
    GatedColumn,
}

/// <summary>A name pattern and the split it selects; the first matching rule wins.</summary>
public sealed record TensorParallelRule(Regex Pattern, TensorParallelSplit Split)
{
    public TensorParallelRule(string pattern, TensorParallelSplit split) : this(new Regex(pattern, RegexOptions.CultureInvariant), split) { }
}

/// <summary>
/// Megatron-LM tensor-parallel layout by parameter name (tools/checkpoint `loader_base.py`, `schema_core.py`):
/// column-parallel weights and biases split on dim 0, row-parallel weights on dim 1, everything else replicated.
/// Fused QKV is group-interleaved ([q…, k, v] per query group) in Megatron's global layout, so a TP rank's
/// groups are one contiguous dim-0 range: plain column split. SwiGLU fc1 is [gate; up] and splits as two halves
/// when <c>gatedLinearUnit</c> is set. Hugging Face names (q/k/v/gate/up_proj column, o/down_proj row) follow
/// the same rules. Chunks follow torch.chunk; Megatron itself requires divisible sizes.
/// </summary>
public sealed class TensorParallelLayout : TargetLayout
{
    public static IReadOnlyList<TensorParallelRule> DefaultRules(bool gatedLinearUnit) =>
    [
        new(@"(linear_fc1|dense_h_to_4h)\.(weight|bias)$", gatedLinearUnit ? TensorParallelSplit.GatedColumn : TensorParallelSplit.Column),
        new(@"(linear_qkv|query_key_value)\.(weight|bias)$", TensorParallelSplit.Column),
        new(@"(word_embeddings|output_layer)\.weight$", TensorParallelSplit.Column),
        new(@"(linear_proj|self_attention\.dense|linear_fc2|dense_4h_to_h)\.weight$", TensorParallelSplit.Row),
        new(@"(q_proj|k_proj|v_proj|gate_proj|up_proj)\.(weight|bias)$", TensorParallelSplit.Column),
        new(@"(embed_tokens|lm_head|wte)\.weight$", TensorParallelSplit.Column),
        new(@"(o_proj|down_proj)\.weight$", TensorParallelSplit.Row),
    ];

    readonly IReadOnlyList<TensorParallelRule> _rules;

    public TensorParallelLayout(int tensorParallel, bool gatedLinearUnit = false, IReadOnlyList<TensorParallelRule>? rules = null)
    {
        WorldSize = tensorParallel > 0 ? tensorParallel : throw new ArgumentOutOfRangeException(nameof(tensorParallel));
        _rules = rules ?? DefaultRules(gatedLinearUnit);
    }

    public override int WorldSize { get; }
    public override string Description => $"Megatron tensor parallel {WorldSize} (column dim 0, row dim 1, rest replicated)";

    public TensorParallelSplit SplitOf(string name, int rank)
    {
        var split = _rules.FirstOrDefault(r => r.Pattern.IsMatch(name))?.Split ?? TensorParallelSplit.Replicated;
        // A row rule on a 1-d tensor (a bias) or any split of a scalar means replicated.
        if (split == TensorParallelSplit.Row && rank < 2) return TensorParallelSplit.Replicated;
        if (rank == 0) return TensorParallelSplit.Replicated;
        return split;
    }

    public override RankShard ShardOf(string name, IReadOnlyList<long> shape, int rank)
    {
        CheckRank(rank);
        var whole = Box.Whole(shape);
        switch (SplitOf(name, shape.Count))
        {
            case TensorParallelSplit.Column: return RankShard.Of(Narrow(whole, 0, 0, shape[0], rank));
            case TensorParallelSplit.Row: return RankShard.Of(Narrow(whole, 1, 0, shape[1], rank));
            case TensorParallelSplit.GatedColumn:
                if (shape[0] % 2 != 0)
                    throw new ArgumentException($"'{name}' has {shape[0]} rows; a gated fc1 needs an even count (gate and up halves)");
                long half = shape[0] / 2;
                var gate = Narrow(whole, 0, 0, half, rank);
                var up = Narrow(whole, 0, half, half, rank);
                var local = shape.ToArray();
                local[0] = gate.Lengths[0] + up.Lengths[0];
                return new RankShard([gate, up], local);
            default: return RankShard.Of(whole);
        }
    }

    Box Narrow(Box box, int dim, long start, long length, int rank)
    {
        var (o, l) = TorchChunk.Part(length, WorldSize, rank);
        var offsets = box.Offsets.ToArray();
        var lengths = box.Lengths.ToArray();
        offsets[dim] = start + o;
        lengths[dim] = l;
        return new Box(offsets, lengths);
    }
}
