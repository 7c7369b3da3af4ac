namespace Ckpt.Extension.Training;

/// <summary>
/// `#!ckpt-generate --model &lt;var|path&gt; --prompt "text" [...]`: the options of `ckpt generate` for one text prompt
/// (<see cref="Ckpt.Models.GenerateVerb"/>). From a magic's line the handler reads the line itself; the properties
/// are what a command sent from code carries. Nulls take the verb's defaults.
/// </summary>
public sealed class GenerateText : KernelDirectiveCommand
{
    /// <summary>A C# variable bound by `#!ckpt-load`, or a checkpoint file or folder (config.json and a tokenizer beside it).</summary>
    public string Model { get; set; } = "";
    public string? Prompt { get; set; }
    public string? Adapter { get; set; }
    public bool Chat { get; set; }
    public int? MaxNewTokens { get; set; }
    public bool Greedy { get; set; }
    public double? Temperature { get; set; }
    public int? TopK { get; set; }
    public double? TopP { get; set; }
    public long? Seed { get; set; }
    public string? Device { get; set; }
    public string? DType { get; set; }
    public int? Threads { get; set; }
    public bool NoCache { get; set; }
    /// <summary>Binds the <see cref="Ckpt.Models.GenerationCompleted"/> to this C# variable.</summary>
    public string? Name { get; set; }
}
