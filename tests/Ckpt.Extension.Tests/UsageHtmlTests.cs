using System.Net;
using Ckpt.Verbs;

namespace Ckpt.Extension.Tests;

/// <summary>The listing a notebook shows once the extension is loaded names every magic with its verb's synopsis.</summary>
public sealed class UsageHtmlTests
{
    public static TheoryData<string> Magics() => new(VerbCatalog.All.Where(v => v.Magic is not null).Select(v => v.Magic!));

    [Theory]
    [MemberData(nameof(Magics))]
    public void Every_magic_of_the_catalog_is_listed_with_the_synopsis_its_errors_quote(string magic)
    {
        var verb = VerbCatalog.All.Single(v => v.Magic == magic);
        Assert.False(string.IsNullOrWhiteSpace(verb.MagicUsage), $"{magic} declares no synopsis (Verb.MagicUsage) for the listing");
        var html = UsageHtml.Render();
        var code = $"<code>{WebUtility.HtmlEncode(verb.MagicUsage)}</code>";
        int at = html.IndexOf(code, StringComparison.Ordinal);
        Assert.True(at >= 0, $"{magic} is not listed as {code}");
        Assert.Equal(-1, html.IndexOf(code, at + code.Length, StringComparison.Ordinal));
    }

    [Fact]
    public void The_listing_opens_with_the_load_magic_and_lists_no_magic_twice()
    {
        var html = WebUtility.HtmlDecode(UsageHtml.Render());
        Assert.StartsWith("<details><summary><code>Ckpt.Extension</code> is loaded: try <code>#!ckpt-load <folder or file> [--name var]</code></summary>", html);
        Assert.Equal(VerbCatalog.All.Where(v => v.Magic is not null).Select(v => v.Magic!).Order(), UsageHtml.Verbs.Select(v => v.Magic!).Order());
    }
}
