namespace Ckpt.Training;

/// <summary>
/// HF Trainer's `lr_scheduler_type` values Ckpt offers; each starts with the linear warm-up. So Constant is HF's
/// constant_with_warmup: HF's plain "constant" ignores warm-up, which is how QLoRA's recipe (constant, warmup_ratio
/// 0.03) trains, so reproducing it exactly means leaving out the warm-up here.
/// </summary>
public enum LrSchedule
{
    [OptionSpelling("constant_with_warmup")]
    Constant,
    Linear,
    Cosine,
}

/// <summary>
/// The learning rate of an optimizer step, as transformers' schedules compute it (optimization.py:
/// get_constant_schedule_with_warmup, get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup with half a
/// cycle): step is 0-based, so with warm-up the first step runs at lr 0, as in HF; linear and cosine reach 0 at
/// <c>total</c>. Warm-up from a ratio is HF's <c>ceil(total × warmup_ratio)</c>, used only when no step count is given.
/// </summary>
public static class LearningRateSchedule
{
    public static double Factor(LrSchedule schedule, int step, int warmup, int total)
    {
        if (step < warmup) return (double)step / Math.Max(1, warmup);
        double progress = (double)(step - warmup) / Math.Max(1, total - warmup);
        return schedule switch
        {
            LrSchedule.Constant => 1.0,
            LrSchedule.Linear => Math.Max(0.0, (double)(total - step) / Math.Max(1, total - warmup)),
            LrSchedule.Cosine => Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * progress))),
            _ => throw new ArgumentOutOfRangeException(nameof(schedule)),
        };
    }

    public static int WarmupSteps(int warmupSteps, double warmupRatio, int total) =>
        warmupSteps > 0 ? warmupSteps : (int)Math.Ceiling(total * warmupRatio);

    public static double At(FineTuningOptions options, int step, int total) =>
        options.LearningRate * Factor(options.Schedule, step, WarmupSteps(options.WarmupSteps, options.WarmupRatio, total), total);
}
