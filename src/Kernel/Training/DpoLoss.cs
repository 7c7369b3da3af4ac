using Ckpt.Models;

namespace Ckpt.Training;

/// <summary>One DPO step's tensors ([batch] each) and TRL's logged metrics.</summary>
public sealed class DpoOutcome : IDisposable
{
    public required Tensor Losses { get; init; }
    public required Tensor PolicyChosenLogps { get; init; }
    public required Tensor PolicyRejectedLogps { get; init; }
    public required Tensor ReferenceChosenLogps { get; init; }
    public required Tensor ReferenceRejectedLogps { get; init; }
    /// <summary>β·(log π − log π_ref)(chosen), detached.</summary>
    public required Tensor ChosenRewards { get; init; }
    public required Tensor RejectedRewards { get; init; }

    public Tensor Loss => Losses.mean();

    /// <summary>TRL's metric names: rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/*.</summary>
    public IReadOnlyDictionary<string, double> Metrics()
    {
        using var scope = NewDisposeScope();
        return new Dictionary<string, double>
        {
            ["loss"] = Losses.mean().item<float>(),
            ["rewards/chosen"] = ChosenRewards.mean().item<float>(),
            ["rewards/rejected"] = RejectedRewards.mean().item<float>(),
            ["rewards/accuracies"] = ChosenRewards.gt(RejectedRewards).to(ScalarType.Float32).mean().item<float>(),
            ["rewards/margins"] = ChosenRewards.sub(RejectedRewards).mean().item<float>(),
            ["logps/chosen"] = PolicyChosenLogps.mean().item<float>(),
            ["logps/rejected"] = PolicyRejectedLogps.mean().item<float>(),
        };
    }

    public void Dispose()
    {
        foreach (var t in new[] { Losses, PolicyChosenLogps, PolicyRejectedLogps, ReferenceChosenLogps, ReferenceRejectedLogps, ChosenRewards, RejectedRewards })
            t.Dispose();
    }
}

/// <summary>
/// DPO with TRL's losses (<see cref="DpoLossType"/>): h = [log π(y_w) − log π(y_l)] − [log π_ref(y_w) − log π_ref(y_l)]
/// over summed completion log-probs, or per-token averaged ones for IPO. The reference is the same model with its LoRA
/// adapters switched off (no second copy of the weights); chosen and rejected go through one forward pass, stacked on
/// the batch axis (chosen first). Formulas, operation order and metrics follow TRL v0.28.0 (trl/trainer/dpo_trainer.py
/// `dpo_loss` and `concatenated_forward`), the last release whose sigmoid loss honours label_smoothing (cDPO).
/// </summary>
public static class DpoLoss
{
    public static DpoOutcome Compute(CausalLanguageModel model, Tensor prompt, Tensor chosen, Tensor rejected, double beta = 0.1,
        Tensor? chosenMask = null, Tensor? rejectedMask = null, DpoLossType loss = DpoLossType.Sigmoid, double labelSmoothing = 0)
    {
        using var scope = NewDisposeScope();
        long n = prompt.shape[0];
        var (completions, mask) = Stack(chosen, rejected, chosenMask, rejectedMask);
        var prompts = cat([prompt, prompt], 0);

        var policy = CompletionLogProbs.Summed(model, prompts, completions, mask);
        Tensor reference;
        using (no_grad())
        using (PeftLora.Disabled(model))
            reference = CompletionLogProbs.Summed(model, prompts, completions, mask);

        var tokens = mask is null ? ones(2 * n, ScalarType.Float32).Times(completions.shape[1]) : mask.to(ScalarType.Float32).sum(1);
        return Outcome(policy, reference, tokens.to(policy.device), n, beta, loss, labelSmoothing);
    }

    /// <summary>
    /// DPO over whole sequences, for batches whose prompts differ in length: <paramref name="ids"/> [2n, T] holds
    /// prompt+chosen rows then prompt+rejected rows, right-padded; <paramref name="labels"/> marks the completion tokens
    /// (−100 elsewhere); <paramref name="attentionMask"/> is 1 on real tokens.
    /// </summary>
    /// <param name="referenceModel">The starting model as a frozen copy (full fine-tuning); null takes <paramref name="model"/> with its adapters off.</param>
    public static DpoOutcome ComputeSequences(CausalLanguageModel model, Tensor ids, Tensor labels, Tensor? attentionMask, double beta,
        DpoLossType loss = DpoLossType.Sigmoid, double labelSmoothing = 0, CausalLanguageModel? referenceModel = null)
    {
        using var scope = NewDisposeScope();
        long n = ids.shape[0] / 2;
        var policy = CompletionLogProbs.FromLabels(model.Forward(ids, attentionMask), labels);
        Tensor reference;
        using (no_grad())
            if (referenceModel is not null)
                reference = CompletionLogProbs.FromLabels(referenceModel.Forward(ids.to(referenceModel.Device), attentionMask?.to(referenceModel.Device)), labels.to(referenceModel.Device)).to(policy.device);
            else
                using (PeftLora.Disabled(model))
                    reference = CompletionLogProbs.FromLabels(model.Forward(ids, attentionMask), labels);
        // The tokens FromLabels counts: the labelled ones after the first position.
        var tokens = labels.narrow(1, 1, labels.shape[1] - 1).NotEqualTo(SftLoss.IgnoreIndex).to(ScalarType.Float32).sum(1);
        return Outcome(policy, reference, tokens.to(policy.device), n, beta, loss, labelSmoothing);
    }

    /// <summary>
    /// TRL's `dpo_loss` from the sequences' summed log-probs ([2n] each, chosen rows first) and completion token counts:
    /// for IPO both are first divided by the tokens, as TRL's `concatenated_forward` does for the policy and the
    /// reference alike, so IPO's rewards and logps/* are per-token too.
    /// </summary>
    public static DpoOutcome FromLogProbs(Tensor policy, Tensor reference, Tensor tokens, double beta,
        DpoLossType loss = DpoLossType.Sigmoid, double labelSmoothing = 0)
    {
        using var scope = NewDisposeScope();
        return Outcome(policy, reference, tokens, policy.shape[0] / 2, beta, loss, labelSmoothing);
    }

    /// <summary>
    /// The per-pair loss of the margin <paramref name="h"/> (TRL's `logits`). TRL v0.28.0 ignores label_smoothing for
    /// hinge and IPO (with a warning); <see cref="FineTuningOptions.Validate"/> refuses it there instead.
    /// </summary>
    public static Tensor Losses(Tensor h, DpoLossType loss, double beta, double labelSmoothing = 0)
    {
        using var scope = NewDisposeScope();
        var scaled = h.Times(beta);
        var result = loss switch
        {
            DpoLossType.Sigmoid when labelSmoothing == 0 => nn.functional.logsigmoid(scaled).neg(),
            DpoLossType.Sigmoid => nn.functional.logsigmoid(scaled).neg().Times(1 - labelSmoothing)
                .Minus(nn.functional.logsigmoid(scaled.neg()).Times(labelSmoothing)),
            DpoLossType.Robust => nn.functional.logsigmoid(scaled).neg().Times(1 - labelSmoothing)
                .Plus(nn.functional.logsigmoid(scaled.neg()).Times(labelSmoothing)).Over(1 - 2 * labelSmoothing),
            DpoLossType.Hinge => nn.functional.relu(scaled.neg().Plus(1.0)),
            // IPO paper (arXiv 2310.12036) eq. 17, β in the role of its τ.
            DpoLossType.Ipo => h.Minus(1 / (2 * beta)).Power(2),
            _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, null),
        };
        return result.MoveToOuterDisposeScope();
    }

    static DpoOutcome Outcome(Tensor policy, Tensor reference, Tensor tokens, long n, double beta, DpoLossType loss, double labelSmoothing)
    {
        // TRL ≥ 1.0 divides the log-ratios instead, which gives the same IPO loss but logs summed rewards and logps;
        // v0.28.0 averages the log-probs themselves, so everything it logs for IPO is per token. A completion with no
        // token (which the data readers never produce) counts as one instead of dividing by zero.
        if (loss == DpoLossType.Ipo)
        {
            var perRow = tokens.to(ScalarType.Float32).AtLeast(1.0);
            policy = policy.div(perRow);
            reference = reference.div(perRow);
        }
        var policyChosen = policy.narrow(0, 0, n);
        var policyRejected = policy.narrow(0, n, n);
        var refChosen = reference.narrow(0, 0, n);
        var refRejected = reference.narrow(0, n, n);
        var h = policyChosen.Minus(policyRejected).Minus(refChosen.Minus(refRejected));

        var outcome = new DpoOutcome
        {
            Losses = Losses(h, loss, beta, labelSmoothing).MoveToOuterDisposeScope(),
            PolicyChosenLogps = policyChosen.MoveToOuterDisposeScope(),
            PolicyRejectedLogps = policyRejected.MoveToOuterDisposeScope(),
            ReferenceChosenLogps = refChosen.MoveToOuterDisposeScope(),
            ReferenceRejectedLogps = refRejected.MoveToOuterDisposeScope(),
            ChosenRewards = policyChosen.Minus(refChosen).detach().Times(beta).MoveToOuterDisposeScope(),
            RejectedRewards = policyRejected.Minus(refRejected).detach().Times(beta).MoveToOuterDisposeScope(),
        };
        return outcome;
    }

    /// <summary>Stacks chosen over rejected, right-padding the shorter with token 0 (masked out).</summary>
    static (Tensor Completions, Tensor? Mask) Stack(Tensor chosen, Tensor rejected, Tensor? chosenMask, Tensor? rejectedMask)
    {
        long c = chosen.shape[1], r = rejected.shape[1], len = Math.Max(c, r);
        if (c == r && chosenMask is null && rejectedMask is null) return (cat([chosen, rejected], 0), null);
        chosenMask ??= ones_like(chosen);
        rejectedMask ??= ones_like(rejected);
        Tensor Pad(Tensor t) => t.shape[1] == len ? t : nn.functional.pad(t, [0, len - t.shape[1]]);
        return (cat([Pad(chosen), Pad(rejected)], 0), cat([Pad(chosenMask), Pad(rejectedMask)], 0));
    }
}
