using System.Text;
using Ckpt.Manifest;
using Ckpt.Tensors;

namespace Ckpt.Extension;

/// <summary>
/// HTML for a checkpoint: the one-line summary, the metadata table, then the tensor, non-tensor and file tables in
/// `&lt;details&gt;`. Plain HTML, no script, so it survives GitHub, nbviewer and sandboxed frontends.
/// Every value from the checkpoint is escaped: names and metadata come from untrusted files.
/// </summary>
static class ManifestHtml
{
    public const int MaxTensorRows = 200;
    public const int MaxFileRows = 200;
    public const int MaxMetadataValueLength = 300;

    /// <param name="variable">The C# variable the checkpoint was bound to, when it was.</param>
    public static string Render(CheckpointManifest manifest, string? path = null, string? variable = null)
    {
        var html = new StringBuilder();
        html.Append("<div class=\"ckpt-checkpoint\">");
        html.Append("<p class=\"ckpt-summary\">");
        if (path is not null) html.Append("<code>").Append(HtmlText.Encode(path)).Append("</code>: ");
        html.Append(HtmlText.Encode(ManifestSummary.Describe(manifest))).Append("</p>");
        if (variable is not null)
            html.Append("<p class=\"ckpt-variable\">Bound to the C# variable <code>").Append(HtmlText.Encode(variable)).Append("</code>.</p>");
        if (manifest.Layout.IsSharded || manifest.Layout.Description != ParallelLayout.Single.Description)
            html.Append("<p class=\"ckpt-layout\">Layout: ").Append(HtmlText.Encode(manifest.Layout.Description)).Append("</p>");

        AppendMetadata(html, manifest);
        AppendTensors(html, manifest);
        AppendObjects(html, manifest);
        AppendFiles(html, manifest);
        html.Append("</div>");
        return html.ToString();
    }

    static void AppendMetadata(StringBuilder html, CheckpointManifest manifest)
    {
        if (manifest.Metadata.Count == 0) return;
        html.Append("<table class=\"ckpt-metadata\"><thead><tr><th>metadata</th><th>value</th></tr></thead><tbody>");
        foreach (var (key, value) in manifest.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Row(html, key, Shorten(value, MaxMetadataValueLength));
        }
        html.Append("</tbody></table>");
    }

    static void AppendTensors(StringBuilder html, CheckpointManifest manifest) =>
        AppendCappedTable(html, "ckpt-tensors", ManifestSummary.Plural(manifest.Tensors.Count, "tensor"),
            ["name", "dtype", "shape", "bytes", "fragments"], manifest.Tensors, MaxTensorRows, "tensors",
            t => [t.Name, t.DType.Code(), t.ShapeText, ManifestSummary.Count(t.ByteCount), ManifestSummary.Count(t.Fragments.Count)]);

    static void AppendObjects(StringBuilder html, CheckpointManifest manifest)
    {
        var objects = manifest.Objects;
        if (objects.Count == 0) return;
        AppendCappedTable(html, "ckpt-objects", $"{ManifestSummary.Count(objects.Count)} non-tensor {(objects.Count == 1 ? "value" : "values")}",
            ["name", "kind", "value"], objects, MaxTensorRows, "values",
            o => [o.Name, o.Kind, Shorten(o.Value?.ToString() ?? "", MaxMetadataValueLength)]);
    }

    static void AppendFiles(StringBuilder html, CheckpointManifest manifest) =>
        AppendCappedTable(html, "ckpt-files", ManifestSummary.Plural(manifest.Files.Count, "file"),
            ["file", "bytes"], manifest.Files, MaxFileRows, "files",
            f => [f.Path, ManifestSummary.Count(f.Length)]);

    /// <summary>A table inside `&lt;details&gt;`, its first <paramref name="maxRows"/> rows shown and the rest counted.</summary>
    static void AppendCappedTable<T>(StringBuilder html, string cssClass, string summary, string[] headers,
        IReadOnlyList<T> items, int maxRows, string moreNoun, Func<T, string[]> cells)
    {
        html.Append("<details class=\"").Append(cssClass).Append("\"><summary>").Append(HtmlText.Encode(summary)).Append("</summary><table><thead><tr>");
        foreach (var h in headers) html.Append("<th>").Append(HtmlText.Encode(h)).Append("</th>");
        html.Append("</tr></thead><tbody>");
        foreach (var item in items.Take(maxRows))
            Row(html, cells(item));
        html.Append("</tbody></table>");
        if (items.Count > maxRows)
            html.Append("<p class=\"ckpt-more\">").Append(HtmlText.Encode($"{ManifestSummary.Count(items.Count - maxRows)} more {moreNoun}")).Append("</p>");
        html.Append("</details>");
    }

    static void Row(StringBuilder html, params string[] cells)
    {
        html.Append("<tr>");
        foreach (var c in cells) html.Append("<td>").Append(HtmlText.Encode(c)).Append("</td>");
        html.Append("</tr>");
    }

    static string Shorten(string s, int max) => s.Length > max ? s[..max] + "…" : s;

}
