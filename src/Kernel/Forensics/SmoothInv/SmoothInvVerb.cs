using Ckpt.Outputs;

namespace Ckpt.Forensics.SmoothInv;

/// <summary>`ckpt smoothinv` and `#!ckpt-smoothinv`: every option once (defaults from <see cref="SmoothInvSettings"/>), and the one binding.</summary>
public static class SmoothInvVerb
{
    static readonly SmoothInvSettings Defaults = new();

    public static readonly Verb Definition = new("smoothinv", "#!ckpt-smoothinv",
        "Recover an image classifier's backdoor trigger from one clean image (SmoothInv: projected gradient steps toward a class on the Gaussian-smoothed classifier).",
        [
            new("--classifier", "The classifier's state dict (torch.save or safetensors): TorchVision ResNet-18 or Ckpt's small CNN; input RGB in [0, 1].", OptionKind.Path)
                { Positional = true, Required = true, Noun = "classifier checkpoint" },
            new("--image", "One clean image, an 8-bit PNG of the classifier's input size.", OptionKind.Path) { Required = true },
            new("--target", "Synthesise toward this class.", OptionKind.Integer),
            new("--scan", "Synthesise toward every class and rank them; the first is the identified target.", OptionKind.Flag),
            new("--sigma", "Standard deviation of the smoothing noise, on the [0, 1] pixel scale.", OptionKind.Number) { Default = Num(Defaults.Sigma) },
            new("--epsilon", "L2 budget of the change to the image, on the [0, 1] pixel scale.", OptionKind.Number) { Default = Num(Defaults.Epsilon) },
            new("--steps", "Projected gradient steps.", OptionKind.Integer) { Default = Num(Defaults.Steps) },
            new("--samples", "Noise draws per step (Monte-Carlo estimate of the smoothed classifier).", OptionKind.Integer) { Default = Num(Defaults.Samples) },
            new("--seed", "Seed of the noise draws: the same seed gives the same trigger.", OptionKind.Integer) { Default = Num(Defaults.Seed) },
            new("--out", "Write the trigger (PNG and safetensors), the synthesised image and smoothinv.json here.", OptionKind.Path) { Required = true },
            new("--overwrite", OutputFolder.OverwriteHelp, OptionKind.Flag),
            VerbOption.CliJson("Print the result as JSON."),
            VerbOption.MagicName(),
        ])
    {
        MagicUsage = "#!ckpt-smoothinv <classifier checkpoint> --image x.png (--target k | --scan) --out dir",
    };

    static string Num(double v) => v.ToString(CultureInfo.InvariantCulture);

    /// <exception cref="ArgumentException">A missing, repeated or malformed value, or both or neither of --target and --scan.</exception>
    public static SmoothInvRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        var target = v.Integer("--target");
        var scan = v.Flag("--scan");
        if (target is null == !scan)
            throw new ArgumentException(scan ? "smoothinv takes --target or --scan, not both" : "smoothinv needs --target k or --scan");
        var settings = new SmoothInvSettings
        {
            Sigma = v.Number("--sigma")!.Value,
            Epsilon = v.Number("--epsilon")!.Value,
            Steps = v.Integer("--steps")!.Value,
            Samples = v.Integer("--samples")!.Value,
            Seed = v.Unsigned("--seed")!.Value,
        };
        settings.Validate();
        return new SmoothInvRequest(v.Required("--classifier"), v.Required("--image"), target, settings, v.Required("--out"), v.Flag("--overwrite"));
    }
}
