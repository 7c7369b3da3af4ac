using System.Net;
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
        if (path is not null) html.Append("<code>").Append(Encode(path)).Append("</code>: ");
        html.Append(Encode(ManifestSummary.Describe(manifest))).Append("</p>");
        if (variable is not null)
            html.Append("<p class=\"ckpt-variable\">Bound to the C# variable <code>").Append(Encode(variable)).Append("</code>.</p>");
        if (manifest.Layout.IsSharded || manifest.Layout.Description != ParallelLayout.Single.Description)
            html.Append("<p class=\"ckpt-layout\">Layout: ").Append(Encode(manifest.Layout.Description)).Append("</p>");

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

    static void AppendTensors(StringBuilder html, CheckpointManifest manifest)
    {
        var tensors = manifest.Tensors;
        html.Append("<details class=\"ckpt-tensors\"><summary>")
            .Append(Encode(ManifestSummary.Plural(tensors.Count, "tensor"))).Append("</summary>")
            .Append("<table><thead><tr><th>name</th><th>dtype</th><th>shape</th><th>bytes</th><th>fragments</th></tr></thead><tbody>");
        foreach (var t in tensors.Take(MaxTensorRows))
            Row(html, t.Name, t.DType.Code(), t.ShapeText, ManifestSummary.Count(t.ByteCount), ManifestSummary.Count(t.Fragments.Count));
        html.Append("</tbody></table>");
        if (tensors.Count > MaxTensorRows)
            html.Append("<p class=\"ckpt-more\">").Append(Encode($"{ManifestSummary.Count(tensors.Count - MaxTensorRows)} more tensors")).Append("</p>");
        html.Append("</details>");
    }

    static void AppendObjects(StringBuilder html, CheckpointManifest manifest)
    {
        var objects = manifest.Objects;
        if (objects.Count == 0) return;
        html.Append("<details class=\"ckpt-objects\"><summary>")
            .Append(Encode($"{ManifestSummary.Count(objects.Count)} non-tensor {(objects.Count == 1 ? "value" : "values")}")).Append("</summary>")
            .Append("<table><thead><tr><th>name</th><th>kind</th><th>value</th></tr></thead><tbody>");
        foreach (var o in objects.Take(MaxTensorRows))
            Row(html, o.Name, o.Kind, Shorten(o.Value?.ToString() ?? "", MaxMetadataValueLength));
        html.Append("</tbody></table>");
        if (objects.Count > MaxTensorRows)
            html.Append("<p class=\"ckpt-more\">").Append(Encode($"{ManifestSummary.Count(objects.Count - MaxTensorRows)} more values")).Append("</p>");
        html.Append("</details>");
    }

    static void AppendFiles(StringBuilder html, CheckpointManifest manifest)
    {
        var files = manifest.Files;
        html.Append("<details class=\"ckpt-files\"><summary>")
            .Append(Encode(ManifestSummary.Plural(files.Count, "file"))).Append("</summary>")
            .Append("<table><thead><tr><th>file</th><th>bytes</th></tr></thead><tbody>");
        foreach (var f in files.Take(MaxFileRows))
            Row(html, f.Path, ManifestSummary.Count(f.Length));
        html.Append("</tbody></table>");
        if (files.Count > MaxFileRows)
            html.Append("<p class=\"ckpt-more\">").Append(Encode($"{ManifestSummary.Count(files.Count - MaxFileRows)} more files")).Append("</p>");
        html.Append("</details>");
    }

    static void Row(StringBuilder html, params string[] cells)
    {
        html.Append("<tr>");
        foreach (var c in cells) html.Append("<td>").Append(Encode(c)).Append("</td>");
        html.Append("</tr>");
    }

    static string Shorten(string s, int max) => s.Length > max ? s[..max] + "…" : s;

    static string Encode(string s) => WebUtility.HtmlEncode(s);
}
