// Also compiled into Ckpt.Charts, which does not have the Kernel's GlobalUsings.cs.
using System.Globalization;

namespace Ckpt.Conversion;

/// <summary>
/// The one way a size is written, on every surface (CLI text, HTML, charts, notebooks): decimal units as Hugging
/// Face writes them and as <see cref="ByteSize"/> parses them, so `978 KB` is 978,000 bytes and `3.0 MB` is
/// 3,000,000; three significant figures, exact below 1 KB. Ckpt.Charts does not reference the Kernel, so it
/// compiles this same file (linked in Ckpt.Charts.csproj); internal in both, it is never one type seen twice.
/// </summary>
static class SizeText
{
    static readonly string[] Units = ["B", "KB", "MB", "GB", "TB", "PB"];

    public static string Format(long bytes)
    {
        if (bytes < 0) return "-" + Format(bytes == long.MinValue ? long.MaxValue : -bytes);
        double v = bytes;
        int u = 0;
        while (v >= 999.5 && u < Units.Length - 1) { v /= 1000; u++; }
        return u == 0 ? $"{bytes} B" : $"{v.ToString(v >= 99.95 ? "F0" : "F1", CultureInfo.InvariantCulture)} {Units[u]}";
    }
}
