namespace Ckpt.Forensics.SmoothInv;

/// <summary>
/// SmoothInv's knobs, with the SmoothInv code's choices: an L2 budget on the change (`max_norm`), SGD with momentum
/// 0.9 on the unit-normalised gradient at a step size of epsilon / 20 (`0.5 * eps / 10`), halved every 300 steps,
/// the image kept in [0, 1]. Its defaults differ where our images do: the paper's 224x224 ImageNet images take
/// eps 10, sigma 0.25, 400 steps of 40 draws; for 32x32 images eps 4 and sigma 0.5 (tests/python and
/// docs/forensics.md show the search). The noise comes from a generator seeded with <see cref="Seed"/>, fresh draws
/// each step, so a run is deterministic.
/// </summary>
public sealed record SmoothInvSettings
{
    public double Sigma { get; init; } = 0.5;
    public double Epsilon { get; init; } = 4;
    public int Steps { get; init; } = 400;
    public int Samples { get; init; } = 40;
    public ulong Seed { get; init; }

    public double StepSize => Epsilon / 20;

    /// <exception cref="ArgumentException">A value outside its range, naming the option.</exception>
    public void Validate()
    {
        if (!(Sigma >= 0) || double.IsInfinity(Sigma)) throw new ArgumentException($"--sigma must be a finite number >= 0, not {Sigma}");
        if (!(Epsilon > 0) || double.IsInfinity(Epsilon)) throw new ArgumentException($"--epsilon must be a finite number > 0, not {Epsilon}");
        if (Steps < 1) throw new ArgumentException($"--steps must be at least 1, not {Steps}");
        if (Samples < 1) throw new ArgumentException($"--samples must be at least 1, not {Samples}");
    }
}
