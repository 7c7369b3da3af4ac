using Ckpt.Models;

namespace Ckpt.Training;

/// <summary>
/// Causal-LM cross-entropy with completion-only masking (TRL SFT on prompt-completion data): labels are the ids
/// shifted by one, prompt and padding positions are −100, and the loss is the mean over the remaining tokens
/// (logits in fp32). Under gradient accumulation, normalise by the token count of all micro-batches instead
/// (<see cref="SummedTokenLoss"/>).
/// </summary>
public static class SftLoss
{
    public const long IgnoreIndex = -100;

    /// <summary>Labels [batch, seq]: the ids, with the first <paramref name="promptLengths"/>[b] positions and padding set to −100.</summary>
    public static Tensor CompletionLabels(Tensor ids, long[] promptLengths, Tensor? attentionMask = null)
    {
        using var scope = NewDisposeScope();
        long t = ids.shape[1];
        var positions = KeptScalars.Arange(t, ScalarType.Int64, ids.device).unsqueeze(0);
        var prompt = positions.lt(tensor(promptLengths, device: ids.device).unsqueeze(1));
        var labels = ids.FilledWhere(prompt, IgnoreIndex);
        if (attentionMask is not null) labels = labels.FilledWhere(attentionMask.EqualTo(0L), IgnoreIndex);
        return labels.MoveToOuterDisposeScope();
    }

    /// <summary>Mean cross-entropy of next-token predictions over positions whose label is not −100.</summary>
    /// <param name="positionIds">Packed rows' positions (see <see cref="Data.TrainingBatch.Packed"/>); null for unpacked rows.</param>
    public static Tensor Compute(CausalLanguageModel model, Tensor ids, Tensor labels, Tensor? attentionMask = null, Tensor? positionIds = null)
    {
        using var scope = NewDisposeScope();
        var (sum, count) = SummedTokenLoss(model, ids, labels, attentionMask, positionIds);
        return sum.div(count.AtLeast(1.0)).MoveToOuterDisposeScope();
    }

    /// <summary>The summed token loss and the number of counted tokens, for normalising across accumulated micro-batches.</summary>
    public static (Tensor Sum, Tensor Count) SummedTokenLoss(CausalLanguageModel model, Tensor ids, Tensor labels, Tensor? attentionMask = null,
        Tensor? positionIds = null)
    {
        using var scope = NewDisposeScope();
        var logits = model.Forward(ids.to(model.Device), attentionMask?.to(model.Device), positionIds?.to(model.Device));
        long b = ids.shape[0], t = ids.shape[1];
        var shifted = logits.narrow(1, 0, t - 1).to(ScalarType.Float32).reshape(b * (t - 1), -1);
        var targets = labels.to(model.Device).narrow(1, 1, t - 1).reshape(-1);
        var sum = nn.functional.cross_entropy(shifted, targets, ignore_index: IgnoreIndex, reduction: nn.Reduction.Sum);
        var count = targets.NotEqualTo(IgnoreIndex).sum().to(ScalarType.Float32);
        return (sum.MoveToOuterDisposeScope(), count.MoveToOuterDisposeScope());
    }
}
