using System.Text;
using Ckpt.Conversion;
using Ckpt.Merging;
using Ckpt.Resharding;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// The tables the rewriting magics show: a one-line summary, then rows (capped). Plain HTML, every value escaped.
/// Numeric cells carry a class (`ratio`, `bytes-needed`, ...) and the raw number in `data-value`, for readers and tests.
/// </summary>
static class RewriteHtml
{
    public const int MaxRows = 200;
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Reshard(ReshardResult r) =>
        Summary($"Wrote {r.Layout.Description}: {r.Written.ChunkCount} chunks, {ByteSize.Format(r.Written.BytesWritten)} in {r.Written.Files.Count} file(s) to ",
            r.Written.Directory, $"; {ByteSize.Format(r.SourceBytesRead)} read from the source.")
        + RankTable(r.Ranks.Select(x => new RankRow(x.Rank, x.Tensors, x.BytesNeeded, x.BytesRead, x.ReadCount, x.ChunksWritten, x.PhaseSeconds)).ToList())
        + (r.SkippedObjects.Count > 0 ? P($"Skipped {r.SkippedObjects.Count} non-tensor values that are not plain data: {string.Join(", ", r.SkippedObjects.Take(5))}.") : "");

    public static string Plan(TargetLayout layout, IReadOnlyList<(RankPlan Plan, double Seconds)> plans) =>
        P($"Planned {layout.Description} ({plans.Count} ranks); nothing written: give --out to write the DCP checkpoint.")
        + RankTable(plans.Select(x => new RankRow(x.Plan.Rank, x.Plan.HeldTensors, x.Plan.BytesNeeded, x.Plan.BytesRead,
            x.Plan.ReadCount, null, new Dictionary<string, double> { ["plan"] = x.Seconds })).ToList());

    sealed record RankRow(int Rank, int Tensors, long Needed, long Read, int Reads, int? Chunks, IReadOnlyDictionary<string, double>? Phases);

    static string RankTable(IReadOnlyList<RankRow> rows)
    {
        var phases = rows.SelectMany(r => r.Phases?.Keys ?? []).Distinct().ToList();
        var html = new StringBuilder("<table class=\"ckpt-ranks\"><thead><tr><th>rank</th><th>tensors</th><th>bytes needed</th><th>bytes read</th><th>read / needed</th><th>reads</th>");
        if (rows.Any(r => r.Chunks is not null)) html.Append("<th>chunks written</th>");
        foreach (var p in phases) html.Append("<th>").Append(HtmlText.Encode(p)).Append(" s</th>");
        html.Append("</tr></thead><tbody>");
        foreach (var r in rows.Take(MaxRows))
        {
            html.Append("<tr data-rank=\"").Append(r.Rank).Append("\">");
            Cell(html, "rank", r.Rank.ToString(Invariant), r.Rank);
            Cell(html, "tensors", r.Tensors.ToString(Invariant), r.Tensors);
            Cell(html, "bytes-needed", ByteSize.Format(r.Needed), r.Needed);
            Cell(html, "bytes-read", ByteSize.Format(r.Read), r.Read);
            double ratio = r.Needed > 0 ? (double)r.Read / r.Needed : 0;
            Cell(html, "ratio", r.Needed > 0 ? ratio.ToString("0.000", Invariant) : "–", ratio);
            Cell(html, "reads", r.Reads.ToString(Invariant), r.Reads);
            if (r.Chunks is { } c) Cell(html, "chunks", c.ToString(Invariant), c);
            foreach (var p in phases)
            {
                var s = r.Phases?.GetValueOrDefault(p) ?? 0;
                Cell(html, "phase-" + p, s.ToString("0.000", Invariant), s);
            }
            html.Append("</tr>");
        }
        html.Append("</tbody></table>");
        if (rows.Count > MaxRows) html.Append(P($"{rows.Count - MaxRows} more ranks."));
        return html.ToString();
    }

    public static string Conversion(ConversionResult r, string output, TargetFormat to)
    {
        var html = new StringBuilder(Summary($"Converted {r.TensorCount} tensors to {to.ToString().ToLowerInvariant()}: {ByteSize.Format(r.BytesWritten)} in {r.Files.Count} file(s) to ", output, "."));
        html.Append("<table class=\"ckpt-phases\"><thead><tr><th>phase</th><th>seconds</th><th>bytes</th></tr></thead><tbody>");
        foreach (var (phase, (seconds, bytes)) in r.Timeline.Phases.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            html.Append("<tr>");
            Cell(html, "phase", phase, null);
            Cell(html, "seconds", seconds.ToString("0.000", Invariant), seconds);
            Cell(html, "bytes", ByteSize.Format(bytes), bytes);
            html.Append("</tr>");
        }
        html.Append("</tbody></table>");
        Files(html, r.Files.Select(f => (System.IO.Path.GetFileName(f), new FileInfo(f).Length)).ToList());
        if (r.SkippedObjects.Count > 0) html.Append(P($"Skipped {r.SkippedObjects.Count} non-tensor values: {string.Join(", ", r.SkippedObjects.Take(5))}."));
        if (r.MergedWeights > 0) html.Append(P($"Merged the LoRA adapter into {r.MergedWeights} weights."));
        if (r.CopiedFiles.Count > 0) html.Append(P($"Copied {string.Join(", ", r.CopiedFiles.Select(System.IO.Path.GetFileName))}."));
        return html.ToString();
    }

    public static string Finalized(Ckpt.Outputs.FinalizedOutput r) =>
        Summary($"Finalized the {r.Verb} output of {r.Parts} parts ({r.Files.Count} file(s), {ByteSize.Format(r.BytesWritten)}, index {string.Join(", ", r.IndexNames)}) in ", r.Output, ".");

    public static string Merge(MergeReport r, string output)
    {
        var html = new StringBuilder(Summary($"{r.Method}: merged {r.Tensors} tensors ({r.Elements.ToString("N0", Invariant)} elements) of {r.Models.Count} models into ", output,
            $" ({ByteSize.Format(r.InputBytes)} read at {r.InputGigabytesPerSecond.ToString("0.00", Invariant)} GB/s, {r.Seconds.ToString("0.00", Invariant)} s)."));
        html.Append("<table class=\"ckpt-merge-inputs\"><thead><tr><th>model</th><th>weight</th><th>density</th></tr></thead><tbody>");
        foreach (var m in r.Models)
        {
            html.Append("<tr>");
            Cell(html, "model", m.Path, null);
            Cell(html, "weight", m.Weight.ToString("G6", Invariant), m.Weight);
            Cell(html, "density", m.Density?.ToString("G6", Invariant) ?? "", m.Density);
            html.Append("</tr>");
        }
        if (r.BaseModel is not null) html.Append("<tr><td class=\"model\">").Append(HtmlText.Encode(r.BaseModel)).Append(" (base)</td><td></td><td></td></tr>");
        html.Append("</tbody></table><table class=\"ckpt-merge-parameters\"><thead><tr><th>parameter</th><th>value</th></tr></thead><tbody>");
        foreach (var (k, v) in r.Parameters.Where(kv => kv.Key != "weights" && kv.Value is not null))
            html.Append("<tr><td>").Append(HtmlText.Encode(k)).Append("</td><td>").Append(HtmlText.Encode(Convert.ToString(v, Invariant) ?? "")).Append("</td></tr>");
        html.Append("</tbody></table>");
        if (r.Files is { } files) Files(html, files.Select(f => (f, new FileInfo(System.IO.Path.Combine(output, f)).Length)).ToList());
        if (r.ColinearFallbacks.Count > 0) html.Append(P($"{r.ColinearFallbacks.Count} near-colinear tensors were interpolated linearly: {string.Join(", ", r.ColinearFallbacks.Take(5))}."));
        if (r.Copied.Count > 0) html.Append(P($"{r.Copied.Count} non-floating tensors copied from the first model: {string.Join(", ", r.Copied.Take(5))}."));
        return html.ToString();
    }

    public static string Search(CombinationSearchResult r, string? output)
    {
        var s = r.Search;
        var html = new StringBuilder(P($"Best {r.MetricDescription}: {s.Metric.ToString("G6", Invariant)} after {s.Evaluations} evaluations in {s.Generations.Count} generations"
            + (s.History.Count > 0 ? $" (the uniform average gave {s.History[0].Metric.ToString("G6", Invariant)})." : ".")));
        html.Append("<table class=\"ckpt-coefficients\"><thead><tr><th>checkpoint</th><th>coefficient</th></tr></thead><tbody>");
        for (int i = 0; i < r.Checkpoints.Count; i++)
        {
            html.Append("<tr>");
            Cell(html, "checkpoint", r.Checkpoints[i], null);
            Cell(html, "coefficient", s.Coefficients[i].ToString("+0.0000;-0.0000", Invariant), s.Coefficients[i]);
            html.Append("</tr>");
        }
        html.Append("</tbody></table>");
        if (output is not null && r.LogPath is not null)
            html.Append(Summary("Wrote the best combination and ", System.IO.Path.GetFileName(r.LogPath), " to ")).Append("<code>").Append(HtmlText.Encode(output)).Append("</code>.");
        return html.ToString();
    }

    static void Files(StringBuilder html, IReadOnlyList<(string Name, long Bytes)> files)
    {
        html.Append("<details class=\"ckpt-files\"><summary>").Append(HtmlText.Encode($"{files.Count} file(s)")).Append("</summary><table><thead><tr><th>file</th><th>bytes</th></tr></thead><tbody>");
        foreach (var (name, bytes) in files.Take(MaxRows))
            html.Append("<tr><td>").Append(HtmlText.Encode(name)).Append("</td><td>").Append(HtmlText.Encode(ByteSize.Format(bytes))).Append("</td></tr>");
        html.Append("</tbody></table></details>");
    }

    static void Cell(StringBuilder html, string cls, string text, double? value)
    {
        html.Append("<td class=\"").Append(cls).Append('"');
        if (value is { } v) html.Append(" data-value=\"").Append(v.ToString("R", Invariant)).Append('"');
        html.Append('>').Append(HtmlText.Encode(text)).Append("</td>");
    }

    static string Summary(string before, string code, string after) =>
        "<p class=\"ckpt-summary\">" + HtmlText.Encode(before) + "<code>" + HtmlText.Encode(code) + "</code>" + HtmlText.Encode(after) + "</p>";

    static string P(string text) => "<p class=\"ckpt-summary\">" + HtmlText.Encode(text) + "</p>";

}
