using System.Diagnostics;
using System.Numerics;
using Ckpt.Resilience;
using Ckpt.Tensors;
using TorchSharp;

namespace Ckpt.Bench.Resilience;

/// <summary>
/// `stall` mode: a training-like loop over ≥200 MB of float32 weights (forward/backward reads them into
/// gradients, the optimizer step then updates them) saves every few steps: synchronously, then async with an
/// eager snapshot, then async with a lazy snapshot, in one process on one disk. Reports how long the loop
/// was blocked per save. Each run first saves once untimed, so buffer allocation is not counted.
/// </summary>
public static class StallBenchmark
{
    public static async Task<object> Run(string folder, int stateMiB, int steps, int every, double targetStepMs, string? torchDevice)
    {
        const int tensorCount = 8;
        int elements = (stateMiB << 20) / 4 / tensorCount;
        ITrainingLoop loop = torchDevice is not null ? new TorchLoop(tensorCount, elements, torchDevice) : new ArrayLoop(tensorCount, elements);

        // calibrate the forward/backward stand-in to the requested step time
        loop.Forward();
        loop.Update();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 3; i++) loop.Forward();
        loop.Sync();
        double passMs = sw.Elapsed.TotalMilliseconds / 3;
        loop.Passes = Math.Max(1, (int)Math.Round(targetStepMs / Math.Max(passMs, 1e-3)));
        sw.Restart();
        for (int i = 0; i < 3; i++) { loop.Forward(); loop.Update(); }
        loop.Sync();
        double stepMs = sw.Elapsed.TotalMilliseconds / 3;

        var runs = new Dictionary<string, object>();
        double syncMean = 0;
        foreach (var run in new[] { "sync", "asyncEager", "asyncLazy" })
        {
            var directory = new CheckpointDirectory(Path.Combine(folder, run)) { KeepLast = 2 };
            await using var checkpointer = new AsyncCheckpointer(directory);
            var mode = run == "asyncLazy" ? SnapshotMode.Lazy : SnapshotMode.Eager;
            async Task Save(long step)
            {
                if (run == "sync") checkpointer.Save(step, loop.State);
                else await checkpointer.SaveAsync(step, loop.State, mode: mode);
            }

            await Save(0);
            await checkpointer.FlushAsync();
            var wall = Stopwatch.StartNew();
            for (int s = 1; s <= steps; s++)
            {
                loop.Forward();
                await checkpointer.WaitForSnapshotAsync();
                loop.Update();
                if (s % every == 0)
                {
                    loop.Sync(); // the step's GPU work is finished before the save is timed
                    await Save(s);
                }
            }
            double loopSeconds = wall.Elapsed.TotalSeconds;
            await checkpointer.FlushAsync();
            CheckpointDirectory.Verify(directory.Newest()!);

            var saves = checkpointer.History.Skip(1).ToArray();
            double mean = saves.Average(r => r.Stall.TotalMilliseconds);
            if (run == "sync") syncMean = mean;
            runs[run] = new
            {
                stallMs = saves.Select(r => Math.Round(r.Stall.TotalMilliseconds, 2)).ToArray(),
                meanStallMs = Math.Round(mean, 2),
                maxStallMs = Math.Round(saves.Max(r => r.Stall.TotalMilliseconds), 2),
                percentOfSync = Math.Round(100 * mean / syncMean, 2),
                loopSeconds = Math.Round(loopSeconds, 2),
                phasesMeanMs = saves.SelectMany(r => r.Timeline.Phases).GroupBy(p => p.Key)
                    .ToDictionary(g => g.Key, g => Math.Round(g.Sum(p => p.Value.Seconds) * 1000 / saves.Length, 1)),
            };
        }

        return new
        {
            mode = "stall",
            state = torchDevice is not null ? $"TorchSharp tensors on {torchDevice}" : "float32 arrays",
            stateMB = Math.Round(loop.State.Sum(t => t.ByteLength) / 1e6, 1),
            steps, saveEvery = every, stepMs = Math.Round(stepMs, 1), forwardPasses = loop.Passes,
            cores = Environment.ProcessorCount,
            runs,
        };
    }

    interface ITrainingLoop
    {
        IReadOnlyList<StateTensor> State { get; }
        /// <summary>Reads the weights only (forward/backward): a lazy snapshot may copy them meanwhile.</summary>
        void Forward();
        /// <summary>Mutates the weights (optimizer step).</summary>
        void Update();
        /// <summary>Waits for queued device work.</summary>
        void Sync();
        int Passes { get; set; }
    }

    sealed class ArrayLoop : ITrainingLoop
    {
        readonly float[][] _weights, _grads;
        readonly long[] _step = new long[1];

        public ArrayLoop(int tensors, int elements)
        {
            var rng = new Random(0);
            _weights = Enumerable.Range(0, tensors).Select(_ => Enumerable.Range(0, elements).Select(_ => (float)rng.NextDouble()).ToArray()).ToArray();
            _grads = Enumerable.Range(0, tensors).Select(_ => new float[elements]).ToArray();
            State = [.. _weights.Select((w, i) => StateTensor.FromArray($"layers.{i}.weight", DType.F32, w)), StateTensor.FromArray("step", DType.I64, _step)];
        }

        public IReadOnlyList<StateTensor> State { get; }
        public int Passes { get; set; } = 1;
        public void Sync() { }

        public void Forward()
        {
            for (int pass = 0; pass < Passes; pass++)
                Parallel.For(0, _weights.Length, i => Blend(_grads[i], _weights[i], 0.9f, 0.1f));
        }

        public void Update()
        {
            Parallel.For(0, _weights.Length, i => Blend(_weights[i], _grads[i], 1f, -1e-3f));
            _step[0]++;
        }

        static void Blend(float[] target, float[] other, float a, float b)
        {
            int i = 0, n = target.Length, w = Vector<float>.Count;
            var va = new Vector<float>(a);
            var vb = new Vector<float>(b);
            for (; i <= n - w; i += w)
                (new Vector<float>(target, i) * va + new Vector<float>(other, i) * vb).CopyTo(target, i);
            for (; i < n; i++) target[i] = target[i] * a + other[i] * b;
        }
    }

    sealed class TorchLoop : ITrainingLoop
    {
        readonly torch.Tensor[] _weights, _grads;
        readonly torch.Device _device;

        public TorchLoop(int tensors, int elements, string device)
        {
            _device = ComputeDevice.Parse(device).ToTorch();
            torch.manual_seed(0);
            _weights = Enumerable.Range(0, tensors).Select(_ => torch.randn(elements, device: _device)).ToArray();
            _grads = Enumerable.Range(0, tensors).Select(_ => torch.zeros(elements, device: _device)).ToArray();
            State = _weights.Select((w, i) => StateTensor.FromTorch($"layers.{i}.weight", w)).ToArray();
        }

        public IReadOnlyList<StateTensor> State { get; }
        public int Passes { get; set; } = 1;

        public void Sync()
        {
            if (_device.type == DeviceType.CUDA) torch.cuda.synchronize();
        }

        public void Forward()
        {
            using var _ = torch.no_grad();
            for (int pass = 0; pass < Passes; pass++)
                for (int i = 0; i < _weights.Length; i++) _grads[i].mul_(0.9).add_(_weights[i], alpha: 0.1);
        }

        public void Update()
        {
            using var _ = torch.no_grad();
            for (int i = 0; i < _weights.Length; i++) _weights[i].add_(_grads[i], alpha: -1e-3);
        }
    }
}
