using Ckpt.Tensors;
using Ckpt.Models;
using static TorchSharp.torch;

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
/// DPO with TRL's sigmoid loss: −log σ(β·Δ), Δ = [log π(y_w) − log π_ref(y_w)] − [log π(y_l) − log π_ref(y_l)].
/// The reference is the same model with its LoRA adapters switched off (no second copy of the weights);
/// chosen and rejected go through one forward pass, stacked on the batch axis (chosen first).
/// </summary>
public static class DpoLoss
{
    public static DpoOutcome Compute(CausalLanguageModel model, Tensor prompt, Tensor chosen, Tensor rejected, double beta = 0.1,
        Tensor? chosenMask = null, Tensor? rejectedMask = null)
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

        return Outcome(policy, reference, n, beta);
    }

    /// <summary>
    /// DPO over whole sequences, for batches whose prompts differ in length: <paramref name="ids"/> [2n, T] holds
    /// prompt+chosen rows then prompt+rejected rows, right-padded; <paramref name="labels"/> marks the completion tokens
    /// (−100 elsewhere); <paramref name="attentionMask"/> is 1 on real tokens.
    /// </summary>
    public static DpoOutcome ComputeSequences(CausalLanguageModel model, Tensor ids, Tensor labels, Tensor? attentionMask, double beta)
    {
        using var scope = NewDisposeScope();
        long n = ids.shape[0] / 2;
        var policy = CompletionLogProbs.FromLabels(model.Forward(ids, attentionMask), labels);
        Tensor reference;
        using (no_grad())
        using (PeftLora.Disabled(model))
            reference = CompletionLogProbs.FromLabels(model.Forward(ids, attentionMask), labels);
        return Outcome(policy, reference, n, beta);
    }

    static DpoOutcome Outcome(Tensor policy, Tensor reference, long n, double beta)
    {
        var policyChosen = policy.narrow(0, 0, n);
        var policyRejected = policy.narrow(0, n, n);
        var refChosen = reference.narrow(0, 0, n);
        var refRejected = reference.narrow(0, n, n);
        var chosenRatio = policyChosen.sub(refChosen);
        var rejectedRatio = policyRejected.sub(refRejected);
        var losses = nn.functional.logsigmoid(chosenRatio.sub(rejectedRatio).Times(beta)).neg();

        var outcome = new DpoOutcome
        {
            Losses = losses.MoveToOuterDisposeScope(),
            PolicyChosenLogps = policyChosen.MoveToOuterDisposeScope(),
            PolicyRejectedLogps = policyRejected.MoveToOuterDisposeScope(),
            ReferenceChosenLogps = refChosen.MoveToOuterDisposeScope(),
            ReferenceRejectedLogps = refRejected.MoveToOuterDisposeScope(),
            ChosenRewards = chosenRatio.detach().Times(beta).MoveToOuterDisposeScope(),
            RejectedRewards = rejectedRatio.detach().Times(beta).MoveToOuterDisposeScope(),
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
