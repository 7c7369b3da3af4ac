using Ckpt.Forensics.SmoothInv;
using Ckpt.Imaging;
using Ckpt.Tests.Models;
using static TorchSharp.torch;

namespace Ckpt.Tests.Forensics;

/// <summary>
/// Issue 19's acceptance on the fixture's BadNets classifier (target 7, 4x4 checker at rows/cols 26..29) and its clean
/// twin: from the one clean image tests/fixtures/smoothinv/clean.png, the recovered trigger flips &gt; 80 % of the
/// held-out images of other classes to the target, the same budget on the clean twin &lt; 20 %, and a scan ranks 7 first.
/// Lighter than the defaults (200 steps of 20 draws) to keep the CPU cost to seconds per synthesis.
/// </summary>
public class SmoothInvAcceptanceTests
{
    const int Target = 7;
    static readonly SmoothInvSettings Settings = new() { Sigma = 0.5, Epsilon = 4, Steps = 200, Samples = 20 };
    static string Fixture(string name) => TestPaths.Fixture("smoothinv", name);

    [Fact]
    public void The_trigger_from_one_image_flips_held_out_images_on_the_backdoored_model_and_not_on_its_clean_twin()
    {
        var backdoored = AttackSuccess("backdoored-cnn.pt");
        var clean = AttackSuccess("clean-cnn.pt");
        Assert.True(backdoored > 0.8, $"backdoored: {backdoored:P1} of held-out images flipped to {Target}");
        Assert.True(clean < 0.2, $"clean twin: {clean:P1} of held-out images flipped to {Target}");
    }

    [Fact]
    [Trait("Category", "slow")]
    public void A_scan_ranks_the_backdoor_target_first()
    {
        using var classifier = ImageClassifier.Load(Fixture("backdoored-cnn.pt"));
        using var image = PngImage.Read(Fixture("clean.png")).ToTensor();
        var (ranked, syntheses, source) = TargetScan.Run(classifier, image, Settings);
        foreach (var s in syntheses) s.Dispose();
        Assert.Equal(2, source);
        Assert.Equal(9, ranked.Count);
        Assert.True(ranked[0].Class == Target, "ranking: " + string.Join(", ", ranked.Select(r => $"{r.Class}:{r.Score:F3}")));
    }

    /// <summary>The share of held-out images of classes other than the target that the trigger makes the model call the target.</summary>
    static double AttackSuccess(string model)
    {
        using var classifier = ImageClassifier.Load(Fixture(model));
        using var image = PngImage.Read(Fixture("clean.png")).ToTensor();
        using var synthesis = TriggerSynthesis.Run(classifier, image, Target, Settings);
        Assert.True(synthesis.Norm <= Settings.Epsilon + 1e-4);
        using var scope = NewDisposeScope();
        var images = ReferenceTensors.Load(Fixture("heldout.pt"), "images").to(float32).div(255);
        var labels = ReferenceTensors.Load(Fixture("heldout.pt"), "labels");
        var others = images[labels.ne(Target)];
        using var _ = no_grad();
        var predicted = classifier.Logits((others + synthesis.Trigger).clamp(0, 1)).argmax(1);
        return predicted.eq(Target).to(float32).mean().item<float>();
    }
}
