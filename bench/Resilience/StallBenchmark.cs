using System.Diagnostics;
using Ckpt.Resilience;
using Ckpt.Tensors;
using TorchSharp;

namespace Ckpt.Bench.Resilience;

/// <summary>
/// `stall` mode: a training-like loop over ≥200 MB of float32 state saves every few steps, first with the
/// async checkpointer, then synchronously, in the same process and on the same disk. Reports how long the
/// loop was blocked per save in each case.
/// </summary>
public static class StallBenchmark
{
    public static async Task<object> Run(string folder, int stateMiB, int steps, int every, bool useTorch)
    {
        const int tensorCount = 8;
        int elements = (stateMiB << 20) / 4 / tensorCount;
        var loop = useTorch ? (ITrainingLoop)new TorchLoop(tensorCount, elements) : new ArrayLoop(tensorCount, elements);

        loop.Step();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 3; i++) loop.Step();
        double stepSeconds = sw.Elapsed.TotalSeconds / 3;

        var asyncDir = new CheckpointDirectory(Path.Combine(folder, "async")) { KeepLast = 2 };
        var syncDir = new CheckpointDirectory(Path.Combine(folder, "sync")) { KeepLast = 2 };
        var asyncStalls = new List<double>();
        SaveRecord[] asyncRecords;
        await using (var checkpointer = new AsyncCheckpointer(asyncDir))
        {
            for (int s = 1; s <= steps; s++)
            {
                loop.Step();
                if (s % every == 0) asyncStalls.Add((await checkpointer.SaveAsync(s, loop.State)).Stall.TotalMilliseconds);
            }
            await checkpointer.FlushAsync();
            asyncRecords = checkpointer.History.ToArray();
        }

        var syncSaves = new List<double>();
        var syncCheckpointer = new AsyncCheckpointer(syncDir);
        for (int s = 1; s <= steps; s++)
        {
            loop.Step();
            if (s % every == 0)
            {
                var t = Stopwatch.StartNew();
                syncCheckpointer.Save(s, loop.State);
                syncSaves.Add(t.Elapsed.TotalMilliseconds);
            }
        }

        foreach (var d in new[] { asyncDir, syncDir }) CheckpointDirectory.Verify(d.Newest()!);
        double meanStall = asyncStalls.Average(), meanSync = syncSaves.Average();
        return new
        {
            mode = "stall",
            state = useTorch ? "TorchSharp CPU tensors" : "float32 arrays",
            stateMB = Math.Round(loop.State.Sum(t => t.ByteLength) / 1e6, 1),
            steps, saveEvery = every,
            stepMs = Math.Round(stepSeconds * 1000, 1),
            asyncStallMs = asyncStalls.Select(x => Math.Round(x, 2)).ToArray(),
            syncSaveMs = syncSaves.Select(x => Math.Round(x, 1)).ToArray(),
            meanAsyncStallMs = Math.Round(meanStall, 2),
            meanSyncSaveMs = Math.Round(meanSync, 1),
            stallPercentOfSync = Math.Round(100 * meanStall / meanSync, 2),
            asyncPhasesMeanMs = Phases(asyncRecords),
            syncPhasesMeanMs = Phases(syncCheckpointer.History),
        };
    }

    static Dictionary<string, double> Phases(IReadOnlyList<SaveRecord> records) =>
        records.SelectMany(r => r.Timeline.Phases).GroupBy(p => p.Key)
            .ToDictionary(g => g.Key, g => Math.Round(g.Sum(p => p.Value.Seconds) * 1000 / records.Count, 1));

    interface ITrainingLoop
    {
        IReadOnlyList<StateTensor> State { get; }
        void Step();
    }

    sealed class ArrayLoop(int tensors, int elements) : ITrainingLoop
    {
        readonly DeterministicTraining _training = new(tensors, elements);
        public IReadOnlyList<StateTensor> State => _training.State;
        public void Step() => _training.Advance();
    }

    sealed class TorchLoop : ITrainingLoop
    {
        readonly torch.Tensor[] _weights;
        readonly torch.Tensor[] _grads;

        public TorchLoop(int tensors, int elements)
        {
            torch.manual_seed(0);
            _weights = Enumerable.Range(0, tensors).Select(_ => torch.randn(elements)).ToArray();
            _grads = Enumerable.Range(0, tensors).Select(_ => torch.randn(elements)).ToArray();
            State = _weights.Select((w, i) => StateTensor.FromTorch($"layers.{i}.weight", w)).ToArray();
        }

        public IReadOnlyList<StateTensor> State { get; }

        public void Step()
        {
            using var _ = torch.no_grad();
            for (int i = 0; i < _weights.Length; i++)
            {
                _grads[i].mul_(0.9).add_(_weights[i], alpha: 0.1);
                _weights[i].add_(_grads[i], alpha: -1e-3);
            }
        }
    }
}
