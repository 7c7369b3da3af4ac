namespace Ckpt.Training;

/// <summary>
/// The unlearning objectives RESTOR compares (k1rezaei/restor, unlearning/unlearn/{GA,KL,NPO}.py, on SOUL's trainer),
/// as functions of logits [batch, T, vocab] (computed in fp32) and SFT-style labels [batch, T] (the id where a token
/// counts, −100 elsewhere; logits at t predict label t+1):
/// <list type="bullet">
/// <item>GA: −(mean next-token NLL over the labelled tokens), RESTOR's <c>loss = -outputs.loss</c>.</item>
/// <item>KL (RESTOR's GA+KL): GA on the forget batch plus γ × RESTOR's <c>kl_loss(p, q) = −(p · log(q + 1e−12)).sum(−1).mean()</c>
///   on the retain batch, p = softmax of the trained model, q = softmax of the starting model — the cross-entropy
///   H(p, q) = KL(p‖q) + H(p) as RESTOR writes it, averaged over the real (unpadded) positions (RESTOR averages over
///   every position of the batch; the same when nothing is padded). <see cref="KlDivergence"/> gives the KL alone, logged.</item>
/// <item>NPO: per sequence, with Δ = (mean NLL under the model) − (mean NLL under the starting model) over its labelled
///   tokens, −(2/β)·log σ(β·Δ) = (2/β)·log(1 + (π_θ/π_ref)^β) where log π is the token-mean log-likelihood; RESTOR's
///   <c>-logsigmoid(0.1 * neg_log_ratios) * 2 / 0.1</c> at its batch size of 1 (SOUL's configs), β = 0.1.</item>
/// </list>
/// </summary>
public static class UnlearningLoss
{
    /// <summary>RESTOR's kl_loss adds this inside the log of the starting model's probabilities.</summary>
    public const double LogEpsilon = 1e-12;

    /// <summary>Per row: the summed NLL of the labelled next tokens and how many there are ([batch] each, fp32).</summary>
    public static (Tensor Sum, Tensor Count) RowNll(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long t = labels.shape[1];
        var logp = nn.functional.log_softmax(logits.narrow(1, 0, t - 1).to(ScalarType.Float32), -1);
        var targets = labels.to(logits.device).narrow(1, 1, t - 1);
        var counted = targets.NotEqualTo(SftLoss.IgnoreIndex).to(ScalarType.Float32);
        var nll = logp.gather(2, targets.AtLeast(0L).unsqueeze(2)).squeeze(2).neg().mul(counted);
        return (nll.sum(1).MoveToOuterDisposeScope(), counted.sum(1).MoveToOuterDisposeScope());
    }

    /// <summary>Gradient ascent on one batch: minus the mean NLL over all its labelled tokens (a scalar).</summary>
    public static Tensor GradientAscent(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (sum, count) = RowNll(logits, labels);
        return sum.sum().div(count.sum().AtLeast(1.0)).neg().MoveToOuterDisposeScope();
    }

    /// <summary>NPO per sequence ([batch]) from the model's and the starting model's logits over the same batch.</summary>
    public static Tensor Npo(Tensor logits, Tensor referenceLogits, Tensor labels, double beta)
    {
        using var scope = NewDisposeScope();
        var (sum, count) = RowNll(logits, labels);
        var (referenceSum, _) = RowNll(referenceLogits, labels);
        var denominator = count.AtLeast(1.0);
        return NpoFromMeanNll(sum.div(denominator), referenceSum.div(denominator), beta).MoveToOuterDisposeScope();
    }

    /// <summary>−(2/β)·log σ(β·(nll − nll_ref)) per sequence, from the token-mean NLLs under the model and the starting model.</summary>
    public static Tensor NpoFromMeanNll(Tensor meanNll, Tensor referenceMeanNll, double beta)
    {
        using var scope = NewDisposeScope();
        var negLogRatio = meanNll.sub(referenceMeanNll.to(meanNll.device).detach());
        return nn.functional.logsigmoid(negLogRatio.Times(beta)).Times(-2.0 / beta).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// RESTOR's kl_loss summed over positions: Σ_positions −Σ_v p_v·log(q_v + 1e−12), p from <paramref name="logits"/>,
    /// q from <paramref name="referenceLogits"/>, over the positions where <paramref name="attentionMask"/> is 1 (every
    /// position when null), and the number of those positions. Divide the sum by the count for RESTOR's mean.
    /// </summary>
    public static (Tensor Sum, Tensor Count) RetainCrossEntropy(Tensor logits, Tensor referenceLogits, Tensor? attentionMask)
    {
        using var scope = NewDisposeScope();
        var p = nn.functional.softmax(logits.to(ScalarType.Float32), -1);
        var q = nn.functional.softmax(referenceLogits.to(ScalarType.Float32).to(logits.device).detach(), -1);
        var perPosition = p.mul(q.Plus(LogEpsilon).log()).sum(-1).neg();
        return Masked(perPosition, attentionMask);
    }

    /// <summary>KL(p‖q) = Σ_v p_v (log p_v − log q_v) summed over the unmasked positions, and their number: the logged divergence from the starting model.</summary>
    public static (Tensor Sum, Tensor Count) KlDivergence(Tensor logits, Tensor referenceLogits, Tensor? attentionMask)
    {
        using var scope = NewDisposeScope();
        var logp = nn.functional.log_softmax(logits.to(ScalarType.Float32), -1);
        var logq = nn.functional.log_softmax(referenceLogits.to(ScalarType.Float32).to(logits.device).detach(), -1);
        var perPosition = logp.exp().mul(logp.sub(logq)).sum(-1);
        return Masked(perPosition, attentionMask);
    }

    static (Tensor Sum, Tensor Count) Masked(Tensor perPosition, Tensor? attentionMask)
    {
        if (attentionMask is null)
            return (perPosition.sum().MoveToOuterDisposeScope(), tensor((float)perPosition.NumberOfElements).MoveToOuterDisposeScope());
        var mask = attentionMask.to(perPosition.device).NotEqualTo(0L).to(ScalarType.Float32);
        return (perPosition.mul(mask).sum().MoveToOuterDisposeScope(), mask.sum().MoveToOuterDisposeScope());
    }
}
