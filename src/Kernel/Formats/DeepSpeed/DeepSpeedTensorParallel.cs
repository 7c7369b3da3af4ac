using System.Text.RegularExpressions;
using Ckpt.Resharding;

namespace Ckpt.Formats.DeepSpeed;

/// <summary>
/// How a Megatron-DeepSpeed model splits its parameters over tensor-parallel ranks, by name, for the names it uses
/// (megatron/model/transformer.py, language_model.py; DeepSpeed's checkpoint/deepspeed_checkpoint.py merges by the same
/// rules, but concatenates every name it does not know on dim 0, which is wrong for anything replicated). Known:
/// column-parallel `query_key_value` and `dense_h_to_4h` (weights and biases) and the vocab-parallel
/// `word_embeddings.weight` on dim 0 (`dense_h_to_4h` as [gate_r; up_r] halves when `args.swiglu`); row-parallel
/// `self_attention.dense` / `attention.dense` / `dense_4h_to_h` weights on dim 1; replicated layernorms, row-parallel
/// biases, `position_embeddings.weight`, and the bare 1-D `weight`/`bias` of a pipeline layer that is itself a LayerNorm
/// (the final norm). Any other name under more than one TP rank is refused by name: its split cannot be told.
/// </summary>
internal static class DeepSpeedTensorParallel
{
    static readonly Regex Column = new(@"(^|\.)((query_key_value|dense_h_to_4h)\.(weight|bias)|word_embeddings\.weight)$", RegexOptions.CultureInvariant);
    static readonly Regex Gated = new(@"(^|\.)dense_h_to_4h\.(weight|bias)$", RegexOptions.CultureInvariant);
    static readonly Regex Row = new(@"(^|\.)(self_attention\.dense|attention\.dense|dense_4h_to_h)\.weight$", RegexOptions.CultureInvariant);
    static readonly Regex Replicated = new(
        @"((^|\.)\w*layernorm\.(weight|bias)|(^|\.)(self_attention\.dense|attention\.dense|dense_4h_to_h)\.bias|(^|\.)position_embeddings\.weight)$",
        RegexOptions.CultureInvariant);
    static readonly Regex BareNorm = new(@"^(weight|bias)$", RegexOptions.CultureInvariant);

    public const string Known =
        "column-parallel query_key_value, dense_h_to_4h and word_embeddings (dim 0), row-parallel self_attention.dense and " +
        "dense_4h_to_h weights (dim 1), replicated layernorms, row-parallel biases, position_embeddings and a LayerNorm layer's weight/bias";

    /// <summary>The split of <paramref name="key"/> (a module-relative name), or refuses naming <paramref name="fullName"/>.</summary>
    public static TensorParallelSplit SplitOf(string key, int rank, bool swiglu, string file, string fullName)
    {
        if (Gated.IsMatch(key) && swiglu) return TensorParallelSplit.GatedColumn;
        if (Column.IsMatch(key)) return TensorParallelSplit.Column;
        if (Row.IsMatch(key)) return rank == 2 ? TensorParallelSplit.Row : Refuse(file, fullName, $"a row-parallel weight is 2-D, this one {rank}-D");
        if (Replicated.IsMatch(key) || (BareNorm.IsMatch(key) && rank == 1)) return TensorParallelSplit.Replicated;
        return Refuse(file, fullName, null);
    }

    static TensorParallelSplit Refuse(string file, string name, string? why) =>
        throw new CheckpointFormatException(FormatErrorReason.Unsupported, file, name,
            why ?? $"the tensor-parallel split of this parameter is not known, so it cannot be consolidated; known are {Known}");
}
