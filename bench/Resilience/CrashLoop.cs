using Ckpt.Resilience;

namespace Ckpt.Bench.Resilience;

/// <summary>
/// `crashloop` mode: resume from the newest complete checkpoint (verified), then train and save every step
/// with the async checkpointer until killed. Prints `resumed N` once loaded so a test can time its kill.
/// </summary>
public static class CrashLoop
{
    public const int Tensors = 4;
    public const int Elements = 64 * 1024; // 1 MiB of float32 in all: writes take long enough for kills to land inside them

    public static async Task<int> Run(string folder, long maxSteps)
    {
        var directory = new CheckpointDirectory(folder) { KeepLast = 3 };
        directory.RemoveAbandoned();
        var training = new DeterministicTraining(Tensors, Elements);
        if (directory.Newest() is { } newest)
        {
            using var ckpt = CheckpointDirectory.Open(newest);
            training.Load(ckpt);
        }
        Console.Out.WriteLine($"resumed {training.Step}");
        Console.Out.Flush();
        await using var checkpointer = new AsyncCheckpointer(directory);
        while (training.Step < maxSteps)
        {
            training.Advance();
            await checkpointer.SaveAsync(training.Step, training.State);
        }
        return 0;
    }
}
