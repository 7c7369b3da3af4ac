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
        kernel.AddVerbMagic<FineTuningModel>(FineTuningVerb.Definition, FineTuningHandler.HandleAsync, FineTuningHandler.Stopped);
        kernel.AddVerbMagic<GenerateText>(GenerateVerb.Definition, GenerateHandler.HandleAsync, GenerateHandler.Stopped);
    }
}
