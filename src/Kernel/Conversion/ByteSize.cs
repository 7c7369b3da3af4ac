namespace Ckpt.Conversion;

/// <summary>
/// Sizes as users write them: `100KB`, `2GB` (decimal, as Hugging Face's `max_shard_size`), `512MiB`
/// (binary), or a plain byte count.
/// </summary>
public static class ByteSize
{
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        var s = text.Trim();
        int i = 0;
        while (i < s.Length && (char.IsDigit(s[i]) || s[i] == '.')) i++;
        if (i == 0 || !double.TryParse(s[..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return false;
        long unit = s[i..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "KB" => 1000, "MB" => 1000_000, "GB" => 1000_000_000, "TB" => 1000_000_000_000,
            "KIB" => 1L << 10, "MIB" => 1L << 20, "GIB" => 1L << 30, "TIB" => 1L << 40,
            _ => 0,
        };
        if (unit == 0 || value < 0 || value * unit > long.MaxValue) return false;
        bytes = (long)(value * unit);
        return true;
    }

    public static long Parse(string text) => TryParse(text, out var b) ? b
        : throw new FormatException($"'{text}' is not a size (examples: 100KB, 2GB, 512MiB)");

    /// <summary>Decimal units, three significant figures: see <see cref="SizeText"/>.</summary>
    public static string Format(long bytes) => SizeText.Format(bytes);
}
