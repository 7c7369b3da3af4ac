using Microsoft.DotNet.Interactive.Commands;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// `#!ckpt-lcsc &lt;folder|glob|a,b,c|a b c&gt; --eval &lt;spec&gt; [--budget 200] [--seed 0] [--last N] [--out dir] [--dtype] [--name var]`:
/// the options of `ckpt lcsc`, with a live chart of the search.
/// </summary>
public sealed class SearchCombination : KernelDirectiveCommand
{
    public string Checkpoints { get; set; } = "";
    public string Eval { get; set; } = "";
    public int? Budget { get; set; }
    public ulong? Seed { get; set; }
    public int? Last { get; set; }
    public string? Out { get; set; }
    public string? DType { get; set; }
    /// <summary>Lets --out replace a folder Ckpt wrote before (<see cref="Outputs.OutputFolder"/>).</summary>
    public bool Overwrite { get; set; }
    /// <summary>Binds the <see cref="Merging.CombinationSearchResult"/> to this C# variable.</summary>
    public string? Name { get; set; }
}
