using Microsoft.DotNet.Interactive.Commands;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// `#!ckpt-merge --method linear|slerp|… --model a[:w] --model b[:w] [--base c] [--t] [--density]
/// [--lambda] [--rescale] [--seed] --out dir [--dtype]` (methods: <see cref="Merging.MergeMethods"/>), or `#!ckpt-merge --config merge.yaml --out dir`: the options of `ckpt merge`.
/// </summary>
public sealed class MergeCheckpoints : KernelDirectiveCommand
{
    public string? Method { get; set; }
    /// <summary>
    /// Bound only when `--model` is given once (the binder writes a lone value as a string and none of a repeated one);
    /// the handler reads every input, each `path` or `path:weight`, from the line (<see cref="DirectiveOptions"/>).
    /// </summary>
    public string? Model { get; set; }
    public string? Base { get; set; }
    public double? T { get; set; }
    public double? Density { get; set; }
    public double? Lambda { get; set; }
    public string? Rescale { get; set; }
    public ulong? Seed { get; set; }
    public string? Config { get; set; }
    public string Out { get; set; } = "";
    public string? DType { get; set; }
    /// <summary>Lets --out replace a folder Ckpt wrote before (<see cref="Outputs.OutputFolder"/>).</summary>
    public bool Overwrite { get; set; }
    /// <summary>Binds the <see cref="Merging.MergeReport"/> to this C# variable.</summary>
    public string? Name { get; set; }
}
