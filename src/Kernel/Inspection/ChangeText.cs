// Also compiled into Ckpt.Charts, which does not have the Kernel's GlobalUsings.cs.
using System.Globalization;

namespace Ckpt.Inspection;

/// <summary>
/// The one way a diff's numbers (relative L2, max |Δ|) are written, in `ckpt diff` text, its HTML tables and its
/// chart hovers: four significant figures, plain between 0.001 and 10,000 and in e-notation outside
/// (`0.01234`, `1.235e-07`), `0` for no change, `∞` where a ‖a‖ of zero makes the ratio infinite. Ckpt.Charts does
/// not reference the Kernel, so it compiles this same file (linked in Ckpt.Charts.csproj), as it does SizeText.
/// </summary>
static class ChangeText
{
    public static string Format(double? value) => value switch
    {
        null or double.PositiveInfinity => "∞",
        double.NegativeInfinity => "-∞",
        double.NaN => "NaN",
        0 => "0",
        double v when Math.Abs(v) is >= 1e-3 and < 1e4 => v.ToString("G4", CultureInfo.InvariantCulture),
        double v => v.ToString("0.###e+00", CultureInfo.InvariantCulture),
    };
}
