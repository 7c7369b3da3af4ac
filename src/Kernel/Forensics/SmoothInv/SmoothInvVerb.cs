using Ckpt.Outputs;

namespace Ckpt.Forensics.SmoothInv;

/// <summary>`ckpt smoothinv` and `#!ckpt-smoothinv`: the options <see cref="Given"/> declares (defaults from <see cref="SmoothInvSettings"/>), and the one binding.</summary>
public static class SmoothInvVerb
{
    static readonly SmoothInvSettings Defaults = new();

    /// <summary>The options as given; <see cref="Bind"/> checks --target against --scan and the settings' ranges.</summary>
    public sealed class Given
    {
        [Option("--classifier", "The classifier's state dict (torch.save or safetensors): TorchVision ResNet-18 or Ckpt's small CNN; input RGB in [0, 1].", Path = true, Positional = true, Required = true, Noun = "classifier checkpoint")]
        public string? Classifier { get; init; }

        [Option("--image", "One clean image, an 8-bit PNG of the classifier's input size.", Path = true, Required = true)]
        public string? Image { get; init; }

        [Option("--target", "Synthesise toward this class.")]
        public int? Target { get; init; }

        [Option("--scan", "Synthesise toward every class and rank them; the first is the identified target.")]
        public bool Scan { get; init; }

        [Option("--sigma", "Standard deviation of the smoothing noise, on the [0, 1] pixel scale.")]
        public double Sigma { get; init; } = Defaults.Sigma;

        [Option("--epsilon", "L2 budget of the change to the image, on the [0, 1] pixel scale.")]
        public double Epsilon { get; init; } = Defaults.Epsilon;

        [Option("--steps", "Projected gradient steps.")]
        public int Steps { get; init; } = Defaults.Steps;

        [Option("--samples", "Noise draws per step (Monte-Carlo estimate of the smoothed classifier).")]
        public int Samples { get; init; } = Defaults.Samples;

        [Option("--seed", "Seed of the noise draws: the same seed gives the same trigger.")]
        public ulong Seed { get; init; } = Defaults.Seed;

        [Option("--out", "Write the trigger (PNG and safetensors), the synthesised image and smoothinv.json here.", Path = true, Required = true)]
        public string? Output { get; init; }

        [Option("--overwrite", OutputFolder.OverwriteHelp)]
        public bool Overwrite { get; init; }
    }

    public static readonly Verb Definition = Verb.Of<Given>("smoothinv", "#!ckpt-smoothinv",
        "Recover an image classifier's backdoor trigger from one clean image (SmoothInv: projected gradient steps toward a class on the Gaussian-smoothed classifier).",
        [VerbOption.CliJson("Print the result as JSON."), VerbOption.MagicName()],
        magicUsage: "#!ckpt-smoothinv <classifier checkpoint> --image x.png (--target k | --scan) --out dir",
        magicSummary: "SmoothInv (Sun et al. 2023): recovers an image classifier's backdoor trigger from one clean image and shows the image, the synthesised image and their difference; --scan ranks every class.");

    /// <exception cref="ArgumentException">A missing, repeated or malformed value, or both or neither of --target and --scan.</exception>
    public static SmoothInvRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var g = Definition.Bind<Given>(given);
        if (g.Target is null == !g.Scan)
            throw new ArgumentException(g.Scan ? "smoothinv takes --target or --scan, not both" : "smoothinv needs --target k or --scan");
        var settings = new SmoothInvSettings { Sigma = g.Sigma, Epsilon = g.Epsilon, Steps = g.Steps, Samples = g.Samples, Seed = g.Seed };
        settings.Validate();
        return new SmoothInvRequest(g.Classifier!, g.Image!, g.Target, settings, g.Output!, g.Overwrite);
    }
}
