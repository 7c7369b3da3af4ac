using Ckpt.Extension.Directives;
using Ckpt.Models;
using Microsoft.DotNet.Interactive;

namespace Ckpt.Extension.Training;

/// <summary>`#!ckpt-generate`: the options of `ckpt generate`, from the one definition (<see cref="GenerateVerb"/>).</summary>
public static class GenerationDirectives
{
    public static void Register(Kernel kernel) =>
        kernel.AddMagic<GenerateText>(VerbDirective.Create(GenerateVerb.Definition,
            "Continues a text prompt with a causal LM (as `ckpt generate`), optionally with a fine-tune's LoRA adapter: greedy or sampled, decoded with a KV cache."),
            GenerateHandler.HandleAsync);
}
