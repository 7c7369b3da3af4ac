using Microsoft.DotNet.Interactive.Commands;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// `#!ckpt-convert &lt;path&gt; --to safetensors|dcp|torch --out dir [--only glob] [--dtype F16] [--max-shard-size 5GB] [--strip-prefix p] [--merge-adapter dir] [--name var]`:
/// the options of `ckpt convert`.
/// </summary>
public sealed class ConvertCheckpoint : KernelDirectiveCommand
{
    public string Path { get; set; } = "";
    public string? To { get; set; }
    public string Out { get; set; } = "";
    public string? Only { get; set; }
    public string? DType { get; set; }
    public string? MaxShardSize { get; set; }
    public string? StripPrefix { get; set; }
    /// <summary>A PEFT LoRA adapter folder merged into the weights as they are written.</summary>
    public string? MergeAdapter { get; set; }
    /// <summary>Lets --out replace a folder Ckpt wrote before (<see cref="Outputs.OutputFolder"/>).</summary>
    public bool Overwrite { get; set; }
    /// <summary>Binds the <see cref="Conversion.ConversionResult"/> to this C# variable.</summary>
    public string? Name { get; set; }
}
