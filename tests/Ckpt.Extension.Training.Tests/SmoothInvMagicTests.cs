using System.Net;
using System.Text.RegularExpressions;
using Ckpt.Forensics.SmoothInv;

namespace Ckpt.Extension.Tests;

/// <summary>
/// `#!ckpt-smoothinv` on the backdoored small CNN (tests/fixtures/smoothinv): the three images inline as PNGs equal to
/// the files it wrote, the difference's caption saying it is amplified, `--name` binding the result, the scan's bar
/// chart and table, with the CPU LibTorch (bad input: MagicCliSameSentenceTests).
/// </summary>
public sealed class SmoothInvMagicTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _temp = Directory.CreateTempSubdirectory("ckpt-smoothinv-magic-").FullName;
    static readonly string Backdoored = TestPaths.Fixture("smoothinv/backdoored-cnn.pt");
    static readonly string Image = TestPaths.Fixture("smoothinv/clean.png");

    static List<byte[]> InlinePngs(string html) =>
        Regex.Matches(html, "<img src=\"data:image/png;base64,(?<b>[A-Za-z0-9+/=]+)\"").Select(m => Convert.FromBase64String(m.Groups["b"].Value)).ToList();

    [Fact]
    public async Task The_magic_shows_the_image_the_synthesised_image_and_the_amplified_difference_and_binds_the_result()
    {
        var output = Path.Combine(_temp, "t7");
        var result = await _harness.SubmitAsync($"#!ckpt-smoothinv \"{Backdoored}\" --image \"{Image}\" --target 7 --steps 60 --samples 8 --out \"{output}\" --name inv");
        KernelHarness.AssertSucceeded(result);
        var html = KernelHarness.Html(result);
        var pngs = InlinePngs(html);
        Assert.Equal(3, pngs.Count);
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "image.png")), pngs[0]);
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "synthesized.png")), pngs[1]);
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "trigger.png")), pngs[2]);
        Assert.Contains("difference, amplified for visibility", WebUtility.HtmlDecode(html));
        Assert.DoesNotContain("plotly", html, StringComparison.OrdinalIgnoreCase); // no scan, no chart

        var bound = KernelHarness.ReturnValue(await _harness.SubmitAsync("inv"));
        var inv = Assert.IsType<SmoothInvResult>(bound);
        Assert.Equal(7, inv.Target);
        Assert.Equal(7, inv.TargetClassified);
        Assert.Contains($"target class 7", WebUtility.HtmlDecode(html));
    }

    [Fact]
    [Trait("Category", "slow")]
    public async Task A_scan_shows_a_bar_per_class_with_the_identified_target_and_the_table()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-smoothinv \"{Backdoored}\" --image \"{Image}\" --scan --steps 60 --samples 8 --out \"{Path.Combine(_temp, "scan")}\" --name scan");
        KernelHarness.AssertSucceeded(result);
        var html = WebUtility.HtmlDecode(KernelHarness.Html(result));
        Assert.Contains("the scan identifies class 7 as the target", html);
        Assert.Contains("Identified target: class 7", html);
        Assert.Contains("<td>7 (target)</td>", html);
        Assert.Equal(3, InlinePngs(html).Count);
        var figure = result.Events.OfType<Microsoft.DotNet.Interactive.Events.DisplayEvent>().SelectMany(e => e.FormattedValues)
            .Single(v => v.MimeType == "application/vnd.plotly.v1+json").Value;
        using var json = System.Text.Json.JsonDocument.Parse(figure);
        var bars = json.RootElement.GetProperty("data")[0];
        var classes = bars.GetProperty("x").EnumerateArray().Select(x => x.GetString()).ToList();
        Assert.Equal(["0", "1", "3", "4", "5", "6", "7", "8", "9"], classes); // the image's own class 2 is not synthesised
        var scan = Assert.IsType<SmoothInvResult>(KernelHarness.ReturnValue(await _harness.SubmitAsync("scan")));
        Assert.Equal(scan.Scores![0].Score, bars.GetProperty("y")[classes.IndexOf("7")].GetDouble(), 12);
    }

    public void Dispose()
    {
        _harness.Dispose();
        Directory.Delete(_temp, recursive: true);
    }
}
