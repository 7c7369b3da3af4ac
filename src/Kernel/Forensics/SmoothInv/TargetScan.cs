namespace Ckpt.Forensics.SmoothInv;

/// <summary>One class of a scan: its synthesis and how strongly its change takes over the other syntheses.</summary>
public sealed record ScannedClass(int Class, double Score, double SmoothedProbability, double Norm);

/// <summary>
/// Which class a backdoor targets, from the one clean image: SmoothInv toward every class but the one the classifier
/// gives the image, then a score per class k, the mean probability the base classifier gives k when k's change is
/// added to the image and to each other class's synthesised image (clamped to [0, 1]). A backdoor trigger wins over
/// whatever the image shows, so the target's change flips them all; an ordinary class's change mostly does not.
/// (The smoothed probability at the end of synthesis does not tell them apart: with enough budget most classes reach
/// it.) This score is Ckpt's: the paper identifies the target from how the syntheses look and flip a clean set.
/// </summary>
public static class TargetScan
{
    public static (IReadOnlyList<ScannedClass> Ranked, IReadOnlyList<SynthesizedTrigger> Syntheses, int Source) Run(
        ImageClassifier classifier, Tensor image, SmoothInvSettings settings, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        int source;
        using (no_grad()) source = (int)classifier.Logits(image).argmax(1).item<long>();
        var syntheses = new List<SynthesizedTrigger>();
        for (int k = 0; k < classifier.Classes; k++)
        {
            if (k == source) continue;
            syntheses.Add(TriggerSynthesis.Run(classifier, image, k, settings, cancellationToken));
            progress?.Report(k);
        }
        var scored = new List<ScannedClass>();
        using (no_grad())
        {
            foreach (var candidate in syntheses)
            {
                using var scope = NewDisposeScope();
                var bases = syntheses.Where(s => s.Target != candidate.Target).Select(s => s.Synthesized).Prepend(image).ToArray();
                var flipped = cat(bases, 0).Plus(candidate.Trigger).Within(0, 1);
                var score = nn.functional.softmax(classifier.Logits(flipped), 1)[.., candidate.Target].mean().item<float>();
                scored.Add(new ScannedClass(candidate.Target, score, candidate.SmoothedProbability, candidate.Norm));
            }
        }
        return (scored.OrderByDescending(s => s.Score).ThenBy(s => s.Class).ToList(), syntheses, source);
    }
}
