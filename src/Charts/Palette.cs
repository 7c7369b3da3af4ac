namespace Ckpt.Charts;

/// <summary>Plotly's default qualitative colours (D3 category10), cycled for ranks and dtypes.</summary>
static class Palette
{
    static readonly string[] Colors =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    static readonly string[] Names = ["blue", "orange", "green", "red", "purple", "brown", "pink", "grey", "olive", "cyan"];

    public static string NameOf(int i) => Names[((i % Names.Length) + Names.Length) % Names.Length];

    public static string Of(int i) => Colors[((i % Colors.Length) + Colors.Length) % Colors.Length];

    public static string Bytes(long n) => Ckpt.Conversion.SizeText.Format(n);
}
