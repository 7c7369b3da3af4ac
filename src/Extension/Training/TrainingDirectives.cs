using Ckpt.Models;
using Ckpt.Training;

namespace Ckpt.Extension.Training;

/// <summary>
/// `#!ckpt-finetune` and `#!ckpt-generate`: the options of `ckpt finetune` and `ckpt generate`, from their one
/// definitions (<see cref="FineTuningVerb"/>, <see cref="GenerateVerb"/>), handled by <see cref="FineTuningHandler"/>
/// and <see cref="GenerateHandler"/>.
/// </summary>
public static class TrainingDirectives
{
    public static void Register(Kernel kernel)
    {
        kernel.AddVerbMagic<FineTuningModel>(FineTuningVerb.Definition,
            "Fine-tunes a causal LM with LoRA, QLoRA or all weights (as `ckpt finetune`): SFT, DPO or unlearning (ga, kl, npo), a live loss chart, a summary, the adapter (or with --full the model) in --out; the stop button keeps the last completed step's output.",
            FineTuningHandler.HandleAsync, FineTuningHandler.Stopped);
        kernel.AddVerbMagic<GenerateText>(GenerateVerb.Definition,
            "Continues a text prompt with a causal LM (as `ckpt generate`), optionally with a fine-tune's LoRA adapter: greedy or sampled, decoded with a KV cache.",
            GenerateHandler.HandleAsync, GenerateHandler.Stopped);
    }
}
