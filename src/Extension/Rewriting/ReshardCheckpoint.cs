using Microsoft.DotNet.Interactive.Commands;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// `#!ckpt-reshard &lt;path&gt; --world-size N [--mesh AxB] [--placements ...] [--layout dtensor|flat|tp] [--out dir] [--only glob] [--name var]`:
/// the options of `ckpt reshard`. With `--out` it writes the DCP checkpoint; without, it only plans (reads nothing).
/// </summary>
public sealed class ReshardCheckpoint : KernelDirectiveCommand
{
    public string Path { get; set; } = "";
    public int? WorldSize { get; set; }
    public string? Mesh { get; set; }
    public string? Placements { get; set; }
    public string? Layout { get; set; }
    public bool Gated { get; set; }
    public string? Out { get; set; }
    public string? Only { get; set; }
    /// <summary>Lets --out replace a folder Ckpt wrote before (<see cref="Outputs.OutputFolder"/>).</summary>
    public bool Overwrite { get; set; }
    /// <summary>Binds the result (<see cref="Resharding.ReshardResult"/>, or the rank plans when nothing is written) to this C# variable.</summary>
    public string? Name { get; set; }
}
