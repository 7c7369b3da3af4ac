using System.Net;
using Ckpt.Conversion;
using Ckpt.Manifest;
using Ckpt.Extension.Visualisation;
using Microsoft.DotNet.Interactive.Events;

namespace Ckpt.Extension.Tests;

/// <summary>
/// One checkpoint's tensor bytes read the same in the CLI's inspect text, the load magic's HTML and the layout
/// chart's summary and bar labels: decimal units as Hugging Face writes them (`978 KB` = 978,000 bytes).
/// </summary>
public sealed class SizeTextAcrossSurfacesTests : IDisposable
{
    readonly KernelHarness _harness = new();

    [Theory]
    [InlineData(999, "999 B")]
    [InlineData(1000, "1.0 KB")]
    [InlineData(978_250, "978 KB")]
    [InlineData(999_600, "1.0 MB")]
    [InlineData(3_001_728, "3.0 MB")]
    [InlineData(12_345_678_901, "12.3 GB")]
    public void Sizes_are_decimal_with_three_significant_figures(long bytes, string text) => Assert.Equal(text, ByteSize.Format(bytes));

    [Fact]
    public async Task The_same_checkpoint_size_reads_identically_in_cli_text_html_and_charts()
    {
        using var checkpoint = Checkpoint.Open(FixtureFacts.Llama);
        var size = ByteSize.Format(checkpoint.Manifest.TensorBytes);
        Assert.Matches(@"^\d+(\.\d)? [KMG]B$", size);

        var stdout = new StringWriter();
        Assert.Equal(0, global::Ckpt.Cli.Program.Run(["inspect", FixtureFacts.Llama], stdout, new StringWriter()));
        Assert.Contains($"{size} of tensors", stdout.ToString());

        Assert.Contains($"{size} of tensors", WebUtility.HtmlDecode(ManifestHtml.Render(checkpoint.Manifest)));

        var result = await _harness.SubmitAsync($"#!ckpt-layout \"{FixtureFacts.Llama}\"");
        KernelHarness.AssertSucceeded(result);
        Assert.Contains($"{size} written by one process", WebUtility.HtmlDecode(KernelHarness.Html(result)));
        var figures = result.Events.OfType<DisplayEvent>()
            .SelectMany(e => e.FormattedValues.Where(v => v.MimeType == ChartOutput.PlotlyMimeType)).Select(v => v.Value).ToList();
        // A single-process checkpoint: the bytes-per-file chart gives the total in its title.
        Assert.Contains(figures, f => f.Contains($"({size} in all; ", StringComparison.Ordinal));
    }

    public void Dispose() => _harness.Dispose();
}
