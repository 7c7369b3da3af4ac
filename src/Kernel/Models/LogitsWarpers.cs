namespace Ckpt.Models;

/// <summary>
/// transformers' sampling warpers, applied in generate()'s order: TemperatureLogitsWarper (scores / T), then
/// TopKLogitsWarper (scores below the k-th largest become −inf; ties with it stay), then TopPLogitsWarper (sort
/// ascending, softmax, cumulative sum; tokens whose cumulative probability is ≤ 1 − top_p are removed, the most
/// likely token always kept). Each is skipped at its neutral value (T = 1, k = 0, p = 1), as generate() skips it.
/// </summary>
static class LogitsWarpers
{
    /// <param name="scores">[vocab] or [batch, vocab] float logits.</param>
    public static Tensor Apply(Tensor scores, double temperature, int topK, double topP)
    {
        using var scope = NewDisposeScope();
        var s = scores.alias();
        if (temperature != 1.0) s = s.Over(temperature);
        if (topK > 0) s = TopK(s, topK);
        if (topP < 1.0) s = TopP(s, topP);
        return s.MoveToOuterDisposeScope();
    }

    public static Tensor TopK(Tensor scores, int k)
    {
        using var scope = NewDisposeScope();
        k = (int)Math.Min(k, scores.shape[^1]);
        var kth = scores.topk(k, dim: -1).values.narrow(-1, k - 1, 1);
        return scores.FilledWhere(scores.lt(kth), float.NegativeInfinity).MoveToOuterDisposeScope();
    }

    public static Tensor TopP(Tensor scores, double p)
    {
        using var scope = NewDisposeScope();
        var (sorted, indices) = scores.sort(dim: -1, descending: false);
        var cumulative = sorted.softmax(-1).cumsum(-1);
        var remove = cumulative.AtMostAsLargeAs(1 - p);
        remove.narrow(-1, remove.shape[^1] - 1, 1).FillInPlace(false);
        var removeByToken = remove.scatter(-1, indices, remove);
        return scores.FilledWhere(removeByToken, float.NegativeInfinity).MoveToOuterDisposeScope();
    }
}
