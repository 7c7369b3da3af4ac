namespace Ckpt.Forensics.SmoothInv;

/// <summary>One synthesis toward <see cref="Target"/>: the image it reached, the change (the candidate trigger), and
/// the smoothed classifier's probability of the target at the end, on draws the synthesis did not use.</summary>
public sealed record SynthesizedTrigger(int Target, Tensor Synthesized, Tensor Trigger, double SmoothedProbability, double FinalLoss) : IDisposable
{
    public double Norm => Trigger.norm().item<float>();

    public void Dispose()
    {
        Synthesized.Dispose();
        Trigger.Dispose();
    }
}

/// <summary>
/// SmoothInv's synthesis (Sun &amp; Kolter, CVPR 2023, Algorithm 1 and `smoothinv.py`): from one clean image x,
/// projected gradient descent on delta toward the target under the smoothed classifier, with no mask and no
/// regulariser. Each step draws fresh noise, takes the gradient of -log g(x + delta)_t, divides it by its L2 norm
/// (zero when the norm is zero), makes an SGD step with momentum 0.9, then projects: x + delta into [0, 1], and
/// delta onto the L2 ball of radius epsilon.
/// </summary>
public static class TriggerSynthesis
{
    const int LearningRateHalvingSteps = 300;
    const double Momentum = 0.9;
    const int ScoringSamples = 64;

    public static SynthesizedTrigger Run(ImageClassifier classifier, Tensor image, int target, SmoothInvSettings settings,
        CancellationToken cancellationToken = default)
    {
        settings.Validate();
        if (target < 0 || target >= classifier.Classes)
            throw new ArgumentException($"--target must be a class 0..{classifier.Classes - 1} of this classifier, not {target}");
        using var scope = NewDisposeScope();
        var x = image.detach().to(float32);
        var generator = new Generator(settings.Seed);
        var delta = zeros_like(x);
        var velocity = zeros_like(x);
        var shape = new long[] { settings.Samples, x.shape[1], x.shape[2], x.shape[3] };
        double loss = double.NaN;
        // Scalars held for the loop's whole life: TorchSharp 0.107 frees a temporary Scalar (an implicit double) from its
        // finalizer, which the GC may run while the native op still reads it ("Unknown scalar type" under memory pressure).
        using Scalar momentum = Momentum, zero = 0.0, one = 1.0;
        for (int step = 0; step < settings.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            var noise = randn(shape, generator: generator);
            var (l, gradient) = SmoothedClassifier.LossAndGradient(classifier, x.Plus(delta), noise, settings.Sigma, target);
            loss = l;
            var norm = gradient.norm().item<float>();
            using Scalar length = norm;
            if (norm > 0) gradient.div_(length);
            else gradient.zero_();
            var lr = settings.StepSize * Math.Pow(0.5, step / LearningRateHalvingSteps);
            // torch.optim.SGD with momentum, no dampening: v = m v + g; p -= lr v.
            using Scalar rate = lr;
            velocity.mul_(momentum).PlusInPlace(gradient);
            delta.sub_(velocity.mul(rate));
            delta.PlusInPlace(x).clamp_(zero, one).sub_(x);
            var size = delta.norm().item<float>();
            if (size > settings.Epsilon)
            {
                using Scalar shrink = settings.Epsilon / size;
                delta.mul_(shrink);
            }
        }
        double probability;
        using (no_grad())
        {
            var scoring = new Generator(settings.Seed ^ 0x5EED5EEDUL);
            var noise = randn([ScoringSamples, x.shape[1], x.shape[2], x.shape[3]], generator: scoring);
            probability = SmoothedClassifier.Probabilities(classifier, x.Plus(delta), noise, settings.Sigma)[target].item<float>();
        }
        var synthesized = x.Plus(delta).MoveToOuterDisposeScope();
        return new SynthesizedTrigger(target, synthesized, delta.MoveToOuterDisposeScope(), probability, loss);
    }
}
