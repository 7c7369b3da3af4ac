namespace Ckpt.Manifest;

/// <summary>
/// The one-line description of a checkpoint that notebooks and the CLI lead with: format, framework,
/// world size when sharded, tensor count, parameters by dtype, bytes and files.
/// </summary>
public static class ManifestSummary
{
    public static string Describe(CheckpointManifest manifest)
    {
        var parts = new List<string> { manifest.Framework == "unknown" ? manifest.Format : $"{manifest.Format} ({manifest.Framework})" };
        if (manifest.Layout.IsSharded) parts.Add($"world size {manifest.Layout.WorldSize}");
        parts.Add(Plural(manifest.Tensors.Count, "tensor"));
        parts.Add($"{Count(manifest.ParameterCount)} parameters ({ByDType(manifest.ParametersByDType)})");
        parts.Add($"{Bytes(manifest.TensorBytes)} of tensors");
        parts.Add($"{Plural(manifest.Files.Count, "file")}, {Bytes(manifest.TotalBytes)}");
        return string.Join(", ", parts);
    }

    public static string ByDType(IReadOnlyDictionary<DType, long> counts) =>
        counts.Count == 0 ? "none" : string.Join(", ", counts.Select(kv => $"{kv.Key.Code()} {Count(kv.Value)}"));

    public static string Plural(long n, string noun) => $"{Count(n)} {noun}{(n == 1 ? "" : "s")}";

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string Bytes(long n) => Conversion.SizeText.Format(n);
}
