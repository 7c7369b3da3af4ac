using Ckpt.Training;

namespace Ckpt.Tests.Training;

/// <summary>
/// The steps a fine-tuning run reports, handed to <paramref name="add"/> on the run's own thread as they happen
/// (<see cref="Progress{T}"/> would post them to the thread pool, after the run may have returned).
/// </summary>
sealed class Collect(Action<TrainingProgress> add) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => add(value);
}
