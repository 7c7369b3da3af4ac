using System.Net;
using System.Text.RegularExpressions;

namespace Ckpt.Charts;

static class Html
{
    /// <summary>
    /// HTML-encodes text from a checkpoint, showing its control characters as escapes (<c>\n</c>, <c>\u001B</c>) as the
    /// Kernel's error sentences do; the renderer runs apart from the Kernel, so it cannot call ControlCharacters.
    /// </summary>
    public static string Escape(string? s) => WebUtility.HtmlEncode(Controls.Replace(s ?? "", m => m.Value[0] switch
    {
        '\n' => @"\n",
        '\r' => @"\r",
        '\t' => @"\t",
        var c => $@"\u{(int)c:X4}",
    }));

    static readonly Regex Controls = new(@"[\u0000-\u001F\u007F-\u009F\u2028\u2029]", RegexOptions.Compiled);

    /// <summary>A plain table (no script, renders everywhere), at most <paramref name="maxRows"/> rows with a note for the rest.</summary>
    public static string Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, int maxRows = 50)
    {
        var all = rows.ToList();
        var sb = new System.Text.StringBuilder("<table><tr>");
        foreach (var h in headers) sb.Append("<th>").Append(Escape(h)).Append("</th>");
        sb.Append("</tr>");
        foreach (var r in all.Take(maxRows))
        {
            sb.Append("<tr>");
            foreach (var c in r) sb.Append("<td>").Append(Escape(c)).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</table>");
        if (all.Count > maxRows) sb.Append($"<p>… {all.Count - maxRows} more rows</p>");
        return sb.ToString();
    }
}
