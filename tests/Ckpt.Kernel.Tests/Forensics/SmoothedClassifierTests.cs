using Ckpt.Forensics.SmoothInv;
using Ckpt.Tests.Models;
using static TorchSharp.torch;

namespace Ckpt.Tests.Forensics;

/// <summary>SmoothInv's objective and Monte-Carlo gradient against python torch 1.13 through the same noise draws.</summary>
public class SmoothedClassifierTests
{
    static readonly string Reference = TestPaths.Fixture("smoothinv", "reference.pt");

    [Fact]
    public void The_smoothed_probabilities_loss_and_gradient_equal_torch_through_the_same_noise()
    {
        using var classifier = ImageClassifier.Load(TestPaths.Fixture("smoothinv", "backdoored-cnn.pt"));
        using var image = ReferenceTensors.Load(Reference, "smooth_image");
        using var noise = ReferenceTensors.Load(Reference, "smooth_noise");
        using var sigmaT = ReferenceTensors.Load(Reference, "smooth_sigma");
        using var targetT = ReferenceTensors.Load(Reference, "smooth_target");
        double sigma = sigmaT[0].item<float>();
        int target = (int)targetT[0].item<long>();
        using var expectedProbs = ReferenceTensors.Load(Reference, "smooth_probs");
        using var expectedLoss = ReferenceTensors.Load(Reference, "smooth_loss");
        using var expectedGrad = ReferenceTensors.Load(Reference, "smooth_grad");

        using (no_grad())
        using (var probs = SmoothedClassifier.Probabilities(classifier, image, noise, sigma))
            Assert.True(ReferenceTensors.MaxAbsDiff(probs, expectedProbs) < 1e-6, $"probabilities differ by {ReferenceTensors.MaxAbsDiff(probs, expectedProbs)}");
        var (loss, gradient) = SmoothedClassifier.LossAndGradient(classifier, image, noise, sigma, target);
        using (gradient)
        {
            Assert.Equal(expectedLoss[0].item<float>(), loss, 1e-5 * Math.Max(1, Math.Abs(loss)));
            var scale = expectedGrad.abs().max().item<float>();
            Assert.True(scale > 0, "the reference gradient is zero; the test could not fail");
            Assert.True(ReferenceTensors.MaxAbsDiff(gradient, expectedGrad) < 1e-4 * scale,
                $"gradient differs by {ReferenceTensors.MaxAbsDiff(gradient, expectedGrad)} (largest component {scale})");
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_trigger()
    {
        using var classifier = ImageClassifier.Load(TestPaths.Fixture("smoothinv", "backdoored-cnn.pt"));
        using var image = ReferenceTensors.Load(Reference, "smooth_image");
        var settings = new SmoothInvSettings { Steps = 5, Samples = 4, Seed = 3 };
        using var a = TriggerSynthesis.Run(classifier, image, 7, settings);
        using var b = TriggerSynthesis.Run(classifier, image, 7, settings);
        using var c = TriggerSynthesis.Run(classifier, image, 7, settings with { Seed = 4 });
        Assert.Equal(0.0, ReferenceTensors.MaxAbsDiff(a.Trigger, b.Trigger));
        Assert.NotEqual(0.0, ReferenceTensors.MaxAbsDiff(a.Trigger, c.Trigger));
        Assert.True(a.Norm <= settings.Epsilon + 1e-4);
    }
}
