using Ckpt.Forensics.SmoothInv;
using Ckpt.Imaging;

namespace Ckpt.Extension.Forensics;

/// <summary>
/// `#!ckpt-smoothinv`: binds the line through <see cref="SmoothInvVerb"/>, makes the one Kernel call
/// (<see cref="SmoothInvRun.Execute"/>, the same as `ckpt smoothinv`), and shows the clean image, the synthesised one
/// and their difference (amplified) inline as PNGs; with --scan also the score per class as a bar chart and a table.
/// `--name` binds the <see cref="SmoothInvResult"/>.
/// </summary>
public static class SmoothInvDirectives
{
    public static void Register(Kernel kernel) =>
        kernel.AddVerbMagic<InvertBackdoor, SmoothInvRequest, SmoothInvResult>(SmoothInvVerb.Definition,
            SmoothInvVerb.Bind, (request, token) => SmoothInvRun.Execute(request, cancellationToken: token), Show);

    static void Show(VerbMagicCall call, SmoothInvResult result)
    {
        call.Show(Images(result));
        if (result.Scores is not null) call.Chart("smoothinv", JsonNode.Parse(result.ToJson())!.AsObject());
    }

    /// <summary>The three images side by side, each an inline PNG (base64 data URI), scaled up without smoothing.</summary>
    internal static string Images(SmoothInvResult r)
    {
        var c = CultureInfo.InvariantCulture;
        string Figure(PngImage image, string caption) =>
            "<figure style=\"display:inline-block;margin:0 1em 0 0;vertical-align:top;max-width:16em\">" +
            $"<img src=\"data:image/png;base64,{Convert.ToBase64String(image.Encode())}\" width=\"{Math.Max(image.Width, 128)}\" " +
            $"style=\"image-rendering:pixelated\" alt=\"{HtmlText.Encode(caption)}\"/>" +
            $"<figcaption>{HtmlText.Encode(caption)}</figcaption></figure>";
        return "<div>" +
               $"<p>SmoothInv on {HtmlText.Encode(r.Architecture)} ({r.Classes} classes): the image is class {r.SourceClass}; " +
               (r.Scanned ? $"the scan identifies class {r.Target} as the target. " : $"target class {r.Target}. ") +
               string.Format(c, "Trigger L2 {0:F4} (budget {1}), smoothed p {2:F4}; the synthesised image is classified {3}.</p>",
                   r.TriggerNorm, r.Epsilon, r.SmoothedProbability, r.TargetClassified) +
               Figure(r.Image, $"clean image (class {r.SourceClass})") +
               Figure(r.Synthesized, $"synthesised toward class {r.Target} (classified {r.TargetClassified})") +
               Figure(r.Difference, string.Format(c, "difference, amplified for visibility: scaled so its largest component reaches 0 or 1 around mid-grey (true L2 {0:F4})", r.TriggerNorm)) +
               $"<p>Written to {HtmlText.Encode(r.Output)}: {HtmlText.Encode(string.Join(", ", r.Files))}.</p></div>";
    }
}
