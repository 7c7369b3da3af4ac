using Ckpt.Extension.Directives;
using Ckpt.Training;
using Microsoft.DotNet.Interactive;

namespace Ckpt.Extension.Training;

/// <summary>`#!ckpt-finetune`: the options of `ckpt finetune`, from the one definition (<see cref="FineTuningVerb"/>).</summary>
public static class FineTuningDirectives
{
    public static void Register(Kernel kernel) =>
        kernel.AddMagic<FineTuneModel>(VerbDirective.Create(FineTuningVerb.Definition,
            "Fine-tunes a causal LM with LoRA or QLoRA (as `ckpt finetune`): SFT or DPO, a live loss chart, a summary, a PEFT adapter in --out; the stop button keeps the last completed step's adapter."),
            FineTuneHandler.HandleAsync);
}
