using TorchSharp.Modules;

namespace Ckpt.Training;

/// <summary>
/// AdamW over the trainable (LoRA) parameters, written out so that its moments are plain tensors a checkpoint can
/// snapshot and restore bit for bit. The update is PyTorch's single-tensor AdamW (torch/optim/adamw.py, amsgrad off):
/// decoupled decay p ← p·(1 − lr·λ); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
/// p ← p − lr/(1−β1^t) · m / (√v / √(1−β2^t) + ε). Moments are fp32 whatever the parameter dtype.
/// </summary>
public sealed class LoraAdamW : IDisposable
{
    readonly (string Name, Parameter Parameter, Tensor ExpAvg, Tensor ExpAvgSq)[] _slots;

    public LoraAdamW(IEnumerable<(string Name, Parameter Parameter)> parameters, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0.0)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        _slots = parameters.Select(p => (p.Name, p.Parameter,
            zeros(p.Parameter.shape, ScalarType.Float32, p.Parameter.device),
            zeros(p.Parameter.shape, ScalarType.Float32, p.Parameter.device))).ToArray();
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    /// <summary>Updates taken so far (t in the bias corrections); restored on resume.</summary>
    public long StepCount { get; set; }

    public IEnumerable<Parameter> Parameters => _slots.Select(s => s.Parameter);

    /// <summary>The moments by name (`{parameter}.exp_avg`, `{parameter}.exp_avg_sq`), for checkpoints.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State() =>
        _slots.SelectMany(s => new[] { (s.Name + ".exp_avg", s.ExpAvg), (s.Name + ".exp_avg_sq", s.ExpAvgSq) });

    public void ZeroGrad()
    {
        foreach (var s in _slots) s.Parameter.grad = null;
    }

    public void Step(double lr)
    {
        StepCount++;
        using var noGrad = no_grad();
        double bias1 = 1 - Math.Pow(Beta1, StepCount);
        double bias2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, StepCount));
        foreach (var (_, p, m, v) in _slots)
        {
            using var scope = NewDisposeScope();
            if (p.grad is not { } grad) continue;
            var g = grad.to(ScalarType.Float32);
            if (WeightDecay != 0) p.TimesInPlace(1 - lr * WeightDecay);
            m.TimesInPlace(Beta1).PlusInPlace(g, 1 - Beta1);
            v.TimesInPlace(Beta2).PlusProductInPlace(g, g, 1 - Beta2);
            var denom = v.sqrt().OverInPlace(bias2Sqrt).PlusInPlace(Eps);
            var update = m.div(denom).TimesInPlace(-lr / bias1);
            p.PlusInPlace(update.to(p.dtype));
        }
    }

    public void Dispose()
    {
        foreach (var s in _slots) { s.ExpAvg.Dispose(); s.ExpAvgSq.Dispose(); }
    }
}
