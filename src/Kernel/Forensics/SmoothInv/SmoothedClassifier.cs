namespace Ckpt.Forensics.SmoothInv;

/// <summary>
/// The randomized-smoothing version of a classifier f that SmoothInv synthesises on (Sun &amp; Kolter 2023, after
/// Cohen et al. 2019 and Salman et al. 2019), estimated by Monte Carlo as the SmoothInv code's
/// `DiffusionRobustModel(no_diffusion=True)` does: g(x) = mean_i softmax(f(x + sigma * noise_i)) over N unit Gaussian
/// draws. The objective toward a target t is the negative log of g(x)_t (clamped at 1e-20), and its gradient in x is
/// the Monte-Carlo gradient through the same draws.
/// </summary>
public static class SmoothedClassifier
{
    /// <summary>g(x): [classes] from one image [1, 3, H, W] and noise [N, 3, H, W].</summary>
    public static Tensor Probabilities(ImageClassifier classifier, Tensor image, Tensor noise, double sigma)
    {
        using var scope = NewDisposeScope();
        using Scalar scale = sigma; // held: a temporary Scalar may be finalized mid-op (TriggerSynthesis)
        var noisy = image.Plus(noise.mul(scale));
        return nn.functional.softmax(classifier.Logits(noisy), 1).mean([0]).MoveToOuterDisposeScope();
    }

    /// <summary>-log g(x)_target (clamped at 1e-20), differentiable in <paramref name="image"/>.</summary>
    public static Tensor Loss(ImageClassifier classifier, Tensor image, Tensor noise, double sigma, int target)
    {
        using var scope = NewDisposeScope();
        var probabilities = Probabilities(classifier, image, noise, sigma);
        using Scalar floor = 1e-20;
        return probabilities[target].clamp_min(floor).log().neg().MoveToOuterDisposeScope();
    }

    /// <summary>The objective and its gradient in the image, through the given noise draws.</summary>
    public static (double Loss, Tensor Gradient) LossAndGradient(ImageClassifier classifier, Tensor image, Tensor noise, double sigma, int target)
    {
        using var scope = NewDisposeScope();
        var x = image.detach().clone().requires_grad_(true);
        var loss = Loss(classifier, x, noise, sigma, target);
        loss.backward();
        return (loss.item<float>(), x.grad!.detach().clone().MoveToOuterDisposeScope());
    }
}
