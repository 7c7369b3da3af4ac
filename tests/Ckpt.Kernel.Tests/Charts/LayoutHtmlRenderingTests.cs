using Ckpt.Tests.Inspection;

namespace Ckpt.Tests.Charts;

public class LayoutHtmlRenderingTests
{
    static (int Code, string Err) RunCli(params string[] args)
    {
        var (code, _, err) = global::Ckpt.Tests.Cli.CliRunner.Run(args);
        return (code, err);
    }

    static void AssertDrawn(PngPixels png, IReadOnlyList<(byte, byte, byte)> expectedColors)
    {
        // Pixel variance and several distinct colours: a blank or error page is one or two flat colours.
        double mean = 0, m2 = 0;
        long n = 0;
        var distinct = new HashSet<int>();
        for (int y = 0; y < png.Height; y += 2)
            for (int x = 0; x < png.Width; x += 2)
            {
                var (r, g, b) = png[x, y];
                double l = 0.299 * r + 0.587 * g + 0.114 * b;
                n++;
                double d = l - mean;
                mean += d / n;
                m2 += d * (l - mean);
                distinct.Add((r >> 4) << 8 | (g >> 4) << 4 | (b >> 4));
            }
        Assert.True(m2 / n > 100, $"luminance variance {m2 / n:0.0}: the page looks blank");
        Assert.True(distinct.Count >= 12, $"{distinct.Count} distinct colours: the charts did not draw");
        // The trace colours themselves, which only plotly.js drawing the figures puts on the page.
        foreach (var (cr, cg, cb) in expectedColors)
        {
            bool found = false;
            for (int y = 0; y < png.Height && !found; y += 2)
                for (int x = 0; x < png.Width && !found; x += 2)
                {
                    var (r, g, b) = png[x, y];
                    found = Math.Abs(r - cr) + Math.Abs(g - cg) + Math.Abs(b - cb) < 24;
                }
            Assert.True(found, $"no pixel of the trace colour ({cr},{cg},{cb})");
        }
    }

    [Trait("Category", "slow")]
    [ChromiumFact]
    public void Layout_html_renders_offline_in_headless_chromium_with_no_page_request()
    {
        var html = Path.Combine(TestPaths.TempDirectory("layout-html"), "layout.html");
        var (code, err) = RunCli("layout", TestPaths.Fixture("hf-llama-tiny-sharded"), "--html", html);
        Assert.True(code == 0, err);

        var capture = HeadlessChromium.Screenshot(html);
        Assert.Empty(capture.PageRequests);
        // Plotly's first default colour (#1f77b4, the first file's fragments and the rank bar) and the second (#ff7f0e).
        AssertDrawn(PngPixels.Read(capture.Screenshot), [(0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e)]);
    }

    [Trait("Category", "slow")]
    [ChromiumFact]
    public void The_page_request_check_sees_a_page_that_does_fetch()
    {
        // Guards the test above: a page that loads an image must show up as a page request.
        var html = Path.Combine(TestPaths.TempDirectory("fetching-page"), "fetch.html");
        File.WriteAllText(html, "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/probe.png\"></body></html>");
        var capture = HeadlessChromium.Screenshot(html, 200, 200);
        Assert.Contains(capture.PageRequests, u => u.StartsWith("http://127.0.0.1:9/", StringComparison.Ordinal));
    }

    [Trait("Category", "slow")]
    [DcpChromiumFact]
    public void Layout_html_of_the_fsdp2_checkpoint_draws_its_four_ranks()
    {
        var html = Path.Combine(TestPaths.TempDirectory("layout-dcp"), "layout.html");
        var (code, err) = RunCli("layout", TestPaths.Fixture("dcp-fsdp2-4rank"), "--html", html, "--tensor", "model.**");
        Assert.True(code == 0, err);
        var capture = HeadlessChromium.Screenshot(html);
        Assert.Empty(capture.PageRequests);
        AssertDrawn(PngPixels.Read(capture.Screenshot), [(0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e), (0x2c, 0xa0, 0x2c), (0xd6, 0x27, 0x28)]);
    }
}

sealed class DcpChromiumFactAttribute() : RequiredFactAttribute(ChromiumFactAttribute.Probe() ?? DcpReaderFactAttribute.Probe());
