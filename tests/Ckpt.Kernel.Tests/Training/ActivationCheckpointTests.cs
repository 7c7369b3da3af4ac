using System.Diagnostics;
using Ckpt.Models;
using Ckpt.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>
/// What a checkpointed layer's backward leaves behind. On the CPU LibTorch's autograd engine calls it on the thread
/// that called loss.backward(); on CUDA on the engine's own device thread, where no dispose scope is open, so a
/// handle it does not dispose itself waits for the garbage collector. The tests back-propagate outside any dispose
/// scope, as that thread does, and count the handles left on the thread (TorchSharp's per-thread statistics, which
/// tests running in parallel on other threads do not touch).
/// </summary>
public sealed class ActivationCheckpointTests(ITestOutputHelper output)
{
    sealed class TinyRun : IDisposable
    {
        readonly Checkpoint _ckpt;
        readonly Generator _dropout = new(11, CPU);
        readonly Tensor _ids, _labels;
        public CausalLanguageModel Model { get; }

        public TinyRun(bool qlora = false)
        {
            _ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
            Model = CausalLanguageModel.Load(_ckpt);
            if (qlora) QLora.QuantizeBase(Model);
            PeftLora.Attach(Model, new LoraConfig { R = 4, Alpha = 8, Dropout = 0.1, TargetModules = FineTuningFixtures.LlamaLinear }, seed: 3);
            foreach (var (_, layer) in Model.Projections())
                if (layer.Adapter is LoraAdapter adapter) adapter.DropoutGenerator = _dropout;
            Model.train();
            Model.GradientCheckpointing = true;
            Model.CheckpointRandom = new DropoutReplay(CPU, _dropout);
            using var g = new Generator(5, CPU);
            _ids = randint(3, Model.Config.VocabSize, [2, 12], generator: g);
            _labels = SftLoss.CompletionLabels(_ids, [4, 6]);
        }

        /// <summary>One SFT step's forward and backward, the backward outside any dispose scope.</summary>
        public void Step()
        {
            using (var zero = NewDisposeScope())
                foreach (var p in Model.parameters())
                    if (p.grad is { } g) g.zero_();
            using var loss = SftLoss.Compute(Model, _ids, _labels);
            loss.backward();
            Model.ThrowIfBackwardFailed();
        }

        public void Dispose()
        {
            _ids.Dispose();
            _labels.Dispose();
            Model.Dispose();
            _dropout.Dispose();
            _ckpt.Dispose();
        }
    }

    static long LiveOnThisThread() => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    static long ResidentBytes() => Process.GetCurrentProcess().WorkingSet64;

    const int Steps = 40;

    [Trait("Category", "slow")]
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Checkpointed_steps_leave_no_tensor_handle_behind(bool qlora)
    {
        // With QLoRA each recomputed layer back-propagates through the NF4 base's own autograd function too.
        using var run = new TinyRun(qlora);
        run.Step();
        run.Step();
        long live = LiveOnThisThread(), rss = ResidentBytes();
        var growth = new List<long>();
        for (int i = 1; i <= Steps; i++)
        {
            run.Step();
            if (i % (Steps / 4) == 0) growth.Add(LiveOnThisThread() - live);
        }
        output.WriteLine($"{(qlora ? "QLoRA" : "LoRA")}: live tensor handles on the thread after {Steps / 4}/{Steps / 2}/{3 * Steps / 4}/{Steps} steps: "
            + $"+{string.Join(" / +", growth)}; RSS {(ResidentBytes() - rss) / 1048576.0:+0.0;-0.0} MiB");
        Assert.Equal(0, growth[^1]);
    }

    [Fact]
    public void A_checkpointed_forward_that_is_never_back_propagated_leaves_no_tensor_handle_behind()
    {
        // As a loss computed with gradients on for a log line only: the captured dropout states are never read.
        using var run = new TinyRun();
        run.Step();
        long live = LiveOnThisThread();
        using (var ids = tensor(new long[] { 5, 6, 7, 8 }, [1, 4]))
        using (var logits = run.Model.Forward(ids))
            Assert.True(logits.requires_grad);
        Assert.Equal(0, LiveOnThisThread() - live);
    }

    [Fact]
    public void A_checkpointed_layer_leaves_only_its_output_in_the_callers_dispose_scope()
    {
        // TorchSharp's apply also leaves the forward's own output handle and an uninitialised copy of the output's shape
        // (kept for gradients it would otherwise materialise): on CUDA a hidden state of real memory per layer until
        // the model's forward returns.
        var failure = new BackwardFailure();
        using var x0 = ones(2, 3).requires_grad_(true);
        using var scope = NewDisposeScope();
        long live = LiveOnThisThread();
        var h = ActivationCheckpoint.Run((x, _) => x.mul(2), x0, [], null, failure);
        Assert.Equal(1, LiveOnThisThread() - live);
        Assert.True(h.requires_grad);
    }

    [Fact]
    public void An_exception_in_a_recomputed_layer_is_rethrown_after_backward_returns()
    {
        // Thrown from backward it would end the process (LibTorch's engine calls backward from native code).
        var failure = new BackwardFailure();
        Tensor Doubles(Tensor x, IReadOnlyList<Tensor> _) => x.mul(2);
        Tensor FailsWhenRecomputed(Tensor x, IReadOnlyList<Tensor> _) =>
            is_grad_enabled() ? throw new InvalidOperationException("out of memory, say") : x.mul(3);
        using var x0 = ones(2, 3).requires_grad_(true);
        using var h1 = ActivationCheckpoint.Run(Doubles, x0, [], null, failure);
        using var h2 = ActivationCheckpoint.Run(FailsWhenRecomputed, h1, [], null, failure);
        using var loss = h2.sum();
        loss.backward();
        var thrown = Assert.Throws<InvalidOperationException>(failure.ThrowIfAny);
        Assert.Equal("out of memory, say", thrown.Message);
        Assert.Null(x0.grad); // the layers below the failed one back-propagate nothing
        failure.ThrowIfAny(); // reported once
    }

    [Fact]
    public void A_checkpointed_stack_returns_its_inputs_gradient()
    {
        // The control for the test above: the same stack without the failure back-propagates 2 × 3 to its input.
        var failure = new BackwardFailure();
        Tensor Doubles(Tensor x, IReadOnlyList<Tensor> _) => x.mul(2);
        Tensor Triples(Tensor x, IReadOnlyList<Tensor> _) => x.mul(3);
        using var x0 = ones(2, 3).requires_grad_(true);
        using var h1 = ActivationCheckpoint.Run(Doubles, x0, [], null, failure);
        using var h2 = ActivationCheckpoint.Run(Triples, h1, [], null, failure);
        using var loss = h2.sum();
        loss.backward();
        failure.ThrowIfAny();
        using var grad = x0.grad!;
        Assert.All(grad.data<float>().ToArray(), g => Assert.Equal(6f, g));
    }
}
