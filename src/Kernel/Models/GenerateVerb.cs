namespace Ckpt.Models;

/// <summary>
/// `ckpt generate` and `#!ckpt-generate`: the options are <see cref="GenerationRequest"/>'s properties (each declared
/// there once, its default its initial value), then the surface-only ones; the binding is generated from them. The model is `--model` on both surfaces; it may also be given
/// without its name (`ckpt generate model/ --prompt ...`), as the CLI took it before.
/// </summary>
public static class GenerateVerb
{
    public static readonly Verb Definition = Verb.Of<GenerationRequest>("generate", "#!ckpt-generate",
        "Generate text with a causal LM (and a fine-tune's adapter): greedy or sampled, decoded with a KV cache.",
        [
            VerbOption.CliJson("Print one JSON object per row instead of the text."),
            VerbOption.MagicName("Bind the result (Ckpt.Models.GenerationCompleted) to this C# variable."),
        ], magicUsage: "#!ckpt-generate --model <var|path> --prompt \"text\" [--adapter dir] [--greedy | --temperature T]");

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static GenerationRequest Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => Definition.Bind<GenerationRequest>(given);
}
