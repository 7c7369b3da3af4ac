using System.Text.Json.Serialization;
using Ckpt.Formats.Safetensors;
using Ckpt.Imaging;
using Ckpt.Outputs;

namespace Ckpt.Forensics.SmoothInv;

/// <summary>What `ckpt smoothinv` found: the target (given or identified), its trigger, and with a scan every class's score.</summary>
public sealed record SmoothInvResult(
    string Classifier, string Architecture, int Classes, int SourceClass, int Target, bool Scanned,
    double Sigma, double Epsilon, int Steps, int Samples, ulong Seed,
    double TriggerNorm, double SmoothedProbability, int TargetClassified,
    IReadOnlyList<ScannedClass>? Scores, string Output, IReadOnlyList<string> Files)
{
    /// <summary>The clean image, the synthesised one, and their difference scaled to fill [0, 1] around grey.</summary>
    [JsonIgnore] public PngImage Image { get; init; } = null!;
    [JsonIgnore] public PngImage Synthesized { get; init; } = null!;
    [JsonIgnore] public PngImage Difference { get; init; } = null!;

    public string ToJson() => Verbs.VerbJson.Serialize(this);
}

/// <summary>
/// `ckpt smoothinv` from request to files: checks --out before any work, reads the image and the classifier, runs
/// <see cref="TriggerSynthesis"/> toward the target or <see cref="TargetScan"/> over every class, and writes through
/// <see cref="OutputFolder"/>: trigger.safetensors (`trigger`, `synthesized`, `image` as float32 [3, H, W]; with a
/// scan also `trigger.k` per class), trigger.png (the difference, scaled), synthesized.png, image.png and
/// smoothinv.json.
/// </summary>
public static class SmoothInvRun
{
    public static SmoothInvResult Execute(SmoothInvRequest request, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        request.Settings.Validate();
        OutputFolder.Check(request.Output, [request.Classifier, request.Image], request.Overwrite);
        var png = PngImage.Read(request.Image);
        Ckpt.Models.TorchNativeLibraries.Require("backdoor inversion", "ckpt smoothinv");
        using var classifier = ImageClassifier.Load(request.Classifier, cancellationToken);
        using var scope = NewDisposeScope();
        var image = png.ToTensor();
        int source;
        using (no_grad())
        {
            try { source = (int)classifier.Logits(image).argmax(1).item<long>(); }
            catch (System.Runtime.InteropServices.ExternalException e)
            {
                throw new ArgumentException($"{request.Image}: a {png.Width}x{png.Height} image does not fit this {classifier.Architecture} classifier ({FirstLine(e.Message)})");
            }
        }
        IReadOnlyList<ScannedClass>? ranked = null;
        List<SynthesizedTrigger> syntheses;
        int target;
        if (request.Target is { } given)
        {
            syntheses = [TriggerSynthesis.Run(classifier, image, given, request.Settings, cancellationToken)];
            target = given;
        }
        else
        {
            var scan = TargetScan.Run(classifier, image, request.Settings, progress, cancellationToken);
            (ranked, syntheses) = (scan.Ranked, scan.Syntheses.ToList());
            target = ranked[0].Class;
        }
        var chosen = syntheses.Single(s => s.Target == target);
        int classified;
        using (no_grad()) classified = (int)classifier.Logits(chosen.Synthesized).argmax(1).item<long>();
        var synthesizedPng = PngImage.FromTensor(chosen.Synthesized);
        var difference = PngImage.FromTensor(Visible(chosen.Trigger));

        using var output = OutputFolder.Begin(request.Output, [request.Classifier, request.Image], request.Overwrite);
        var tensors = new List<(string Name, Tensor Value)> { ("trigger", chosen.Trigger[0]), ("synthesized", chosen.Synthesized[0]), ("image", image[0]) };
        if (ranked is not null) tensors.AddRange(syntheses.Select(s => ($"trigger.{s.Target}", s.Trigger[0])));
        SafetensorsWriter.Write(Path.Combine(output.Staging, "trigger.safetensors"), tensors.Select(t => Source(t.Name, t.Value)).ToList(),
            new Dictionary<string, string> { ["target"] = target.ToString(System.Globalization.CultureInfo.InvariantCulture), ["written_by"] = "ckpt smoothinv" },
            cancellationToken: cancellationToken);
        File.WriteAllBytes(Path.Combine(output.Staging, "trigger.png"), difference.Encode());
        File.WriteAllBytes(Path.Combine(output.Staging, "synthesized.png"), synthesizedPng.Encode());
        File.WriteAllBytes(Path.Combine(output.Staging, "image.png"), png.Encode());
        var files = new[] { "image.png", "smoothinv.json", "synthesized.png", "trigger.png", "trigger.safetensors" };
        var s = request.Settings;
        var result = new SmoothInvResult(request.Classifier, classifier.Architecture.ToString(), classifier.Classes, source, target, ranked is not null,
            s.Sigma, s.Epsilon, s.Steps, s.Samples, s.Seed, chosen.Norm, chosen.SmoothedProbability, classified, ranked, output.Target, files)
        {
            Image = png,
            Synthesized = synthesizedPng,
            Difference = difference,
        };
        File.WriteAllText(Path.Combine(output.Staging, "smoothinv.json"), result.ToJson());
        output.Commit();
        foreach (var synthesis in syntheses) synthesis.Dispose();
        return result;
    }

    /// <summary>The change around mid-grey, scaled so its largest component reaches 0 or 1.</summary>
    static Tensor Visible(Tensor trigger)
    {
        var peak = Math.Max(trigger.abs().max().item<float>(), 1e-12f);
        return trigger.Over(2 * peak).Plus(0.5);
    }

    static TensorSource Source(string name, Tensor value)
    {
        var data = value.detach().cpu().contiguous().ToTensorData(name);
        return new TensorSource(name, data.DType, data.Shape, () => data);
    }

    static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
