using System.Net;

namespace Ckpt.Charts;

static class Html
{
    public static string Escape(string? s) => WebUtility.HtmlEncode(s ?? "");

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
