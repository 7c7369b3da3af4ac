using Ckpt.Outputs;

namespace Ckpt.Benchmarks;

/// <summary>`ckpt bench load|generate|forward`: each benchmark's options once. They have no magic.</summary>
public static class BenchVerbs
{
    const string Why = "a benchmark times the process it runs in; a notebook kernel's own work would blur it (a notebook calls the Kernel's benchmark classes from C#)";

    public const string Summary = "Benchmarks: `load` reads every tensor of a checkpoint; `generate` writes a synthetic one; `forward` times a causal LM.";

    public static readonly Verb Load = new("bench load", null,
        "Read every tensor once (page cache as it is) and report the rate and peak memory.",
        [
            new("--path", "A checkpoint file or folder.", OptionKind.Path) { Positional = true, Required = true, Noun = "checkpoint" },
            VerbOption.CliJson("Print {bytes, seconds, gbPerSecond, peakMemoryBytes, tensors, files, parallelism}."),
            new("--parallelism", "Tensors in flight (default: cores, at least 2).", OptionKind.Integer),
        ])
    { OneSurfaceReason = Why };

    public static readonly Verb Generate = new("bench generate", null,
        "Write a LLaMA-shaped bf16 sharded safetensors checkpoint of random weights.",
        [
            new("--out", "Output folder.", OptionKind.Path) { Required = true },
            new("--overwrite", OutputFolder.OverwriteHelp, OptionKind.Flag),
            new("--size", "Approximate total size.") { Default = "1GB" },
            new("--shards", "Number of shards.", OptionKind.Integer) { Default = "8" },
            new("--hidden", "Hidden size (a multiple of 128: heads of 128).", OptionKind.Integer) { Default = "2048" },
        ])
    { OneSurfaceReason = Why };

    public static readonly Verb Forward = new("bench forward", null,
        "Time the TorchSharp forward of a causal LM on random tokens; prints one JSON object.",
        [
            new("--model", "A causal LM checkpoint with config.json.", OptionKind.Path) { Positional = true, Required = true, Noun = "model" },
            new("--batch", "Rows per forward.", OptionKind.Integer) { Default = "8" },
            new("--seq", "Tokens per row.", OptionKind.Integer) { Default = "512" },
            new("--iters", "Timed forwards.", OptionKind.Integer) { Default = "10" },
            new("--device", ComputeDevice.Help) { Default = "cpu" },
            new("--dtype", DTypeNames.ComputeHelp),
        ])
    { OneSurfaceReason = Why };
}
