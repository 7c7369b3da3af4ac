using Ckpt.Models;

namespace Ckpt.Training;

/// <summary>
/// Summed log-probabilities of completions given prompts (TRL `get_batch_logps`): one forward pass over
/// prompt+completion, shift by one (logits at t predict token t+1), gather log_softmax (fp32) at the next
/// token, keep only completion positions, and sum over the sequence — not mean.
/// </summary>
public static class CompletionLogProbs
{
    /// <param name="prompt">[batch, P] token ids.</param>
    /// <param name="completion">[batch, C] token ids, right-padded.</param>
    /// <param name="completionMask">[batch, C], 1 for real completion tokens; null when nothing is padded.</param>
    /// <returns>[batch] summed log-probs.</returns>
    public static Tensor Summed(CausalLanguageModel model, Tensor prompt, Tensor completion, Tensor? completionMask = null)
    {
        using var scope = NewDisposeScope();
        var ids = cat([prompt, completion], 1).to(model.Device);
        var attention = completionMask is null ? null : cat([ones_like(prompt), completionMask], 1).to(model.Device);
        var logits = model.Forward(ids, attention);
        var result = FromLogits(logits, ids, prompt.shape[1], completionMask?.to(model.Device));
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Summed completion log-probs from logits [batch, T, vocab] over ids [batch, T] whose first <paramref name="promptLength"/> tokens are the prompt.</summary>
    public static Tensor FromLogits(Tensor logits, Tensor ids, long promptLength, Tensor? completionMask = null)
    {
        using var scope = NewDisposeScope();
        long t = ids.shape[1];
        var logp = nn.functional.log_softmax(logits.narrow(1, 0, t - 1).to(ScalarType.Float32), -1);
        var targets = ids.narrow(1, 1, t - 1);
        var perToken = logp.gather(2, targets.unsqueeze(2)).squeeze(2);
        // Shifted position s predicts token s+1, which is a completion token when s+1 >= promptLength.
        var mask = KeptScalars.Arange(t - 1, ScalarType.Int64, ids.device).AtLeastAsLargeAs(promptLength - 1).unsqueeze(0).to(ScalarType.Float32);
        if (completionMask is not null)
            mask = mask.mul(cat([zeros(ids.shape[0], promptLength - 1, ScalarType.Float32, ids.device), completionMask.to(ScalarType.Float32)], 1));
        return perToken.mul(mask).sum(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Summed log-probs of the labelled tokens of each row: <paramref name="labels"/> [batch, T] holds the token id where
    /// it counts and −100 elsewhere (prompt, padding), as SFT labels do; rows may have different prompt lengths.
    /// </summary>
    public static Tensor FromLabels(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long t = labels.shape[1];
        var logp = nn.functional.log_softmax(logits.narrow(1, 0, t - 1).to(ScalarType.Float32), -1);
        var targets = labels.narrow(1, 1, t - 1);
        var counted = targets.NotEqualTo(SftLoss.IgnoreIndex);
        var perToken = logp.gather(2, targets.AtLeast(0L).unsqueeze(2)).squeeze(2);
        return perToken.mul(counted.to(ScalarType.Float32)).sum(1).MoveToOuterDisposeScope();
    }
}
