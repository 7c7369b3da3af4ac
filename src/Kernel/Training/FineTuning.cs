namespace Ckpt.Training;

/// <summary>
/// `ckpt finetune` and `#!ckpt-finetune`: runs the recipe <see cref="FineTuningOptions.Recipe"/> names. Each recipe
/// reads top to bottom (data, model, trainable weights, output, its loss per step, save) over the steps they share
/// (<see cref="RecipeSession"/>): <see cref="SftRecipe"/>, <see cref="DpoRecipe"/> and the unlearning recipes GA, KL
/// and NPO (<see cref="UnlearningRecipe"/>). Every recipe commits resumable state every <c>SaveEvery</c> steps through
/// the <see cref="Resilience.AsyncCheckpointer"/> and once more at the end or when cancelled between steps, then writes
/// the PEFT adapter (or with <c>--full</c> the whole model) to the output folder. Progress goes to the caller once per step.
/// </summary>
public static class FineTuning
{
    public const string CheckpointsFolder = RecipeSession.CheckpointsFolder;

    public static FineTuningResult Run(FineTuningOptions options, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default) => options.Recipe switch
    {
        Recipe.Sft => SftRecipe.Run(options, progress, cancellationToken),
        Recipe.Dpo => DpoRecipe.Run(options, progress, cancellationToken),
        _ => UnlearningRecipe.Run(options, progress, cancellationToken),
    };
}
