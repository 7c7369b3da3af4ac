using Ckpt.Resilience;
using Ckpt.Tensors;

namespace Ckpt.Bench.Resilience;

/// <summary>
/// A stand-in for training: a few float32 tensors and a step counter, updated by a fixed rule, so the exact
/// state at any step can be recomputed from scratch and compared with what a checkpoint holds.
/// </summary>
public sealed class DeterministicTraining
{
    public DeterministicTraining(int tensors, int elementsPerTensor)
    {
        Weights = new float[tensors][];
        for (int t = 0; t < tensors; t++)
        {
            Weights[t] = new float[elementsPerTensor];
            for (int i = 0; i < elementsPerTensor; i++) Weights[t][i] = (float)((i * 7919L + t * 104729L) % 1000) / 1000f;
        }
        State = [.. Weights.Select((w, t) => StateTensor.FromArray($"layers.{t}.weight", DType.F32, w)),
                 StateTensor.FromArray("step", DType.I64, Counter)];
    }

    public float[][] Weights { get; }
    public long[] Counter { get; } = new long[1];
    public long Step => Counter[0];
    public IReadOnlyList<StateTensor> State { get; }

    public void Advance()
    {
        long s = ++Counter[0];
        for (int t = 0; t < Weights.Length; t++)
        {
            var w = Weights[t];
            float lr = 1e-3f * (1 + t);
            float shift = (s % 13) * 0.01f;
            for (int i = 0; i < w.Length; i++) w[i] = w[i] * 0.999f + lr * (shift - w[i]);
        }
    }

    /// <summary>The state after <paramref name="step"/> updates from the initial values.</summary>
    public static DeterministicTraining At(long step, int tensors, int elementsPerTensor)
    {
        var run = new DeterministicTraining(tensors, elementsPerTensor);
        while (run.Step < step) run.Advance();
        return run;
    }

    /// <summary>Overwrites this state with a checkpoint's tensors.</summary>
    public void Load(Checkpoint checkpoint)
    {
        for (int t = 0; t < Weights.Length; t++)
        {
            using var data = checkpoint.Read($"layers.{t}.weight");
            data.Bytes.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Weights[t].AsSpan()));
        }
        using var step = checkpoint.Read("step");
        step.Bytes.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Counter.AsSpan()));
    }
}
