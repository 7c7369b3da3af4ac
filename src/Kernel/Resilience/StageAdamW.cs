using TorchSharp.Modules;

namespace Ckpt.Resilience;

/// <summary>
/// AdamW (Loshchilov and Hutter; torch.optim.AdamW's update) whose per-parameter state can be dropped for one
/// pipeline stage: a node that fails loses its optimizer moments with its weights, so a recovered stage restarts
/// them (and their bias correction) from zero while the other stages keep theirs. Weight decay applies to
/// matrices only, not to norm scales.
/// </summary>
public sealed class StageAdamW(IReadOnlyList<Parameter> parameters, double learningRate, double weightDecay,
    double beta1 = 0.9, double beta2 = 0.99, double epsilon = 1e-8) : IDisposable
{
    readonly Dictionary<Parameter, Moments> _state = new(ReferenceEqualityComparer.Instance);

    public double LearningRate { get; set; } = learningRate;

    public void Step()
    {
        using var _ = no_grad();
        foreach (var p in parameters)
        {
            if (p.grad is not { } g) continue;
            if (!_state.TryGetValue(p, out var m)) _state[p] = m = new Moments(zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
            m.Steps++;
            m.First.TimesInPlace(beta1).PlusInPlace(g, 1 - beta1);
            m.Second.TimesInPlace(beta2).PlusProductInPlace(g, g, 1 - beta2);
            if (weightDecay > 0 && p.dim() > 1) p.TimesInPlace(1 - LearningRate * weightDecay);
            double correction1 = 1 - Math.Pow(beta1, m.Steps);
            double correction2 = 1 - Math.Pow(beta2, m.Steps);
            using var denominator = m.Second.Over(correction2).sqrt_().PlusInPlace(epsilon);
            p.PlusQuotientInPlace(m.First, denominator, -LearningRate / correction1);
        }
    }

    public void ZeroGrad()
    {
        foreach (var p in parameters) p.grad?.zero_();
    }

    /// <summary>Forgets the moments of <paramref name="lost"/>, as the failed node did.</summary>
    public void Reset(IEnumerable<Parameter> lost)
    {
        foreach (var p in lost)
            if (_state.Remove(p, out var m)) m.Dispose();
    }

    /// <summary>A copy of every moment, for branching one training run into several.</summary>
    public IReadOnlyDictionary<Parameter, (Tensor First, Tensor Second, long Steps)> Save() =>
        _state.ToDictionary(kv => kv.Key, kv => (kv.Value.First.clone(), kv.Value.Second.clone(), kv.Value.Steps), _state.Comparer);

    public void Restore(IReadOnlyDictionary<Parameter, (Tensor First, Tensor Second, long Steps)> saved)
    {
        Reset(_state.Keys.ToArray());
        foreach (var (p, (first, second, steps)) in saved)
            _state[p] = new Moments(first.clone().DetachFromDisposeScope(), second.clone().DetachFromDisposeScope()) { Steps = steps };
    }

    public void Dispose() => Reset(_state.Keys.ToArray());

    sealed class Moments(Tensor first, Tensor second) : IDisposable
    {
        public Tensor First { get; } = first;
        public Tensor Second { get; } = second;
        public long Steps { get; set; }
        public void Dispose() { First.Dispose(); Second.Dispose(); }
    }
}
