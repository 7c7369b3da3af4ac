using Ckpt.Outputs;
using Ckpt.Verbs;

namespace Ckpt.Models;

/// <summary>What `ckpt forward` was asked: the arguments of <see cref="CausalLmForward.Run"/>.</summary>
public sealed record ForwardRequest(string Model, string InputIds, string Output, bool Overwrite, string? DType, string? Device, string? Config, string? Adapter);

/// <summary>`ckpt forward`: every option once, and the one binding to <see cref="ForwardRequest"/>. It has no magic.</summary>
public static class ForwardVerb
{
    public static readonly Verb Definition = new("forward", null,
        "Run a causal LM on given token ids and save its logits (a parity check after conversion or merge).",
        [
            new("--model", "A checkpoint file or folder of a LLaMA-family or GPT-2 model (config.json beside it).", OptionKind.Path) { Positional = true, Required = true, Noun = "model" },
            new("--input-ids", "A safetensors file holding input_ids [batch, seq] (int64).", OptionKind.Path) { Required = true },
            new("--out", "A safetensors file to write logits [batch, seq, vocab] (F32) to.", OptionKind.Path) { Required = true },
            new("--overwrite", OutputFile.OverwriteHelp, OptionKind.Flag),
            new("--dtype", "Compute dtype: f32, bf16, f16 (default: the checkpoint's)."),
            new("--device", "cpu (default) or cuda."),
            new("--config", "The config.json to use when the checkpoint has none beside it.", OptionKind.Path),
            new("--adapter", "A PEFT LoRA adapter folder to apply on top of the model.", OptionKind.Path),
        ])
    {
        OneSurfaceReason = "a parity check whose logits file a script compares; a notebook calls CausalLmForward.Run from C#",
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static ForwardRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        return new ForwardRequest(v.Required("--model"), v.Required("--input-ids"), v.Required("--out"), v.Flag("--overwrite"),
            v.Text("--dtype"), v.Text("--device"), v.Text("--config"), v.Text("--adapter"));
    }
}
