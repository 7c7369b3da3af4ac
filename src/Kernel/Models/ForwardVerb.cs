using Ckpt.Outputs;

namespace Ckpt.Models;

/// <summary>What `ckpt forward` was asked: the arguments of <see cref="CausalLmForward.Run"/>, each declared as its option.</summary>
public sealed record ForwardRequest(
    [Option("--model", "A checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json beside it).", Path = true, Positional = true, Required = true, Noun = "model")] string Model,
    [Option("--input-ids", "A safetensors file holding input_ids [batch, seq] (int64).", Path = true, Required = true)] string InputIds,
    [Option("--out", "A safetensors file to write logits [batch, seq, vocab] (F32) to.", Path = true, Required = true)] string Output,
    [Option("--overwrite", OutputFile.OverwriteHelp)] bool Overwrite,
    [Option("--dtype", DTypeNames.ComputeHelp)] string? DType,
    [Option("--device", ComputeDevice.Help)] string? Device = "cpu",
    [Option("--config", "The config.json to use when the checkpoint has none beside it.", Path = true)] string? Config = null,
    [Option("--adapter", "A PEFT LoRA adapter folder to apply on top of the model.", Path = true)] string? Adapter = null);

/// <summary>`ckpt forward`: the options of <see cref="ForwardRequest"/>, and the binding generated from them. It has no magic.</summary>
public static class ForwardVerb
{
    public static readonly Verb Definition = Verb.Of<ForwardRequest>("forward", null,
        "Run a causal LM on given token ids and save its logits (a parity check after conversion or merge).", []) with
    {
        OneSurfaceReason = "a parity check whose logits file a script compares; a notebook calls CausalLmForward.Run from C#",
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static ForwardRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => Definition.Bind<ForwardRequest>(given);
}
