using Ckpt.Inspection;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt inspect`: the options of <see cref="InspectVerb"/>, a checkpoint opened from its headers, a listing or JSON.</summary>
static class InspectCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(InspectVerb.Definition, InspectVerb.Bind, (bound, asJson, _) =>
    {
        if (CheckpointSetListing.TryWrite(bound.Path, asJson, stdout)) return;
        using var ckpt = Checkpoint.Open(bound.Path);
        if (asJson) stdout.WriteLine(VerbJson.Serialize(ManifestJson.ToJson(ckpt)));
        else
            WriteHuman(stdout, ckpt, bound.Limit);
    });

    static void WriteHuman(TextWriter o, Checkpoint ckpt, int limit)
    {
        var m = ckpt.Manifest;
        o.WriteLine($"{ckpt.Path}");
        o.WriteLine($"  format      {m.Format} ({m.Framework})");
        o.WriteLine($"  layout      world size {m.Layout.WorldSize}: {m.Layout.Description}");
        o.WriteLine($"  parameters  {m.ParameterCount:N0} ({string.Join(", ", m.ParametersByDType.Select(kv => $"{kv.Key} {kv.Value:N0}"))})");
        o.WriteLine($"  bytes       {ByteSize.Format(m.TensorBytes)} of tensors in {m.Files.Count} {(m.Files.Count == 1 ? "file" : "files")} ({ByteSize.Format(m.TotalBytes)} on disk)");
        if (m.Metadata.Count > 0)
        {
            o.WriteLine($"  metadata    {m.Metadata.Count} {(m.Metadata.Count == 1 ? "entry" : "entries")}, as the files and side files (config.json) record them");
            foreach (var kv in m.Metadata.OrderBy(k => k.Key, StringComparer.Ordinal))
                o.WriteLine($"    {kv.Key,-28} {kv.Value}");
        }
        int nameWidth = Math.Min(60, m.Tensors.Select(t => t.Name.Length).DefaultIfEmpty(4).Max());
        o.WriteLine();
        o.WriteLine($"  {"tensor".PadRight(nameWidth)}  {"dtype",-8} {"shape",-20} {"bytes",10} fragments");
        foreach (var t in m.Tensors.Take(limit))
            o.WriteLine($"  {t.Name.PadRight(nameWidth)}  {t.DType,-8} {t.ShapeText,-20} {ByteSize.Format(t.ByteCount),10} {t.Fragments.Count}");
        if (m.Tensors.Count > limit) o.WriteLine($"  … {m.Tensors.Count - limit} more tensors (--limit, or --json for all)");
        if (m.Objects.Count > 0)
        {
            o.WriteLine();
            o.WriteLine($"  {m.Objects.Count} non-tensor values");
            foreach (var ob in m.Objects.Take(limit))
                o.WriteLine($"  {ob.Name.PadRight(nameWidth)}  {ob.Kind,-8} {ManifestJson.Describe(ob.Value, 60)}");
        }
    }
}
