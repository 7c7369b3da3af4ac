using System.Globalization;
using System.Text.Json;
using Ckpt.Training;

namespace Ckpt.Tests.Training;

/// <summary>
/// The learning-rate schedules against torch's LambdaLR driving AdamW with transformers' schedule functions (the rate
/// in the optimizer's param group as each step runs), computed at test time by Debian's torch.
/// </summary>
public sealed class LearningRateScheduleTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("lr-schedule");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    // transformers/optimization.py's lambdas, written out again here; LambdaLR applies them to a real optimizer.
    const string Reference = """
        import json, math, sys, torch
        schedule, warmup, ratio, total = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
        w = warmup if warmup > 0 else math.ceil(total * ratio)
        def factor(step):
            if step < w:
                return float(step) / float(max(1, w))
            if schedule == "constant":
                return 1.0
            if schedule == "linear":
                return max(0.0, float(total - step) / float(max(1, total - w)))
            progress = float(step - w) / float(max(1, total - w))
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=2e-4)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        rates = []
        for _ in range(total):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        print(json.dumps(rates))
        """;

    static double[] TorchRates(string schedule, int warmup, double ratio, int total)
    {
        var (code, stdout, stderr) = PythonTorch.Run(Reference, schedule, warmup.ToString(CultureInfo.InvariantCulture),
            ratio.ToString(CultureInfo.InvariantCulture), total.ToString(CultureInfo.InvariantCulture));
        Assert.True(code == 0, stderr);
        return JsonSerializer.Deserialize<double[]>(stdout)!;
    }

    static FineTuningOptions Options(LrSchedule schedule, int warmup, double ratio) => new()
    {
        Recipe = Recipe.Sft, Model = "m", Data = "d", Output = "o", LearningRate = 2e-4, WarmupSteps = warmup, WarmupRatio = ratio,
        Schedule = schedule,
    };

    [Trait("Category", "slow")]
    [PythonTorchTheory]
    [InlineData("constant", 0, 0.0, 7)]
    [InlineData("constant", 3, 0.0, 10)]
    [InlineData("linear", 0, 0.0, 9)]
    [InlineData("linear", 4, 0.0, 12)]
    [InlineData("linear", 0, 0.1, 25)]
    [InlineData("cosine", 0, 0.0, 9)]
    [InlineData("cosine", 2, 0.0, 11)]
    [InlineData("cosine", 0, 0.03, 100)]
    public void Each_step_runs_at_the_rate_torchs_LambdaLR_gives_with_transformers_schedule(string schedule, int warmup, double ratio, int total)
    {
        var expected = TorchRates(schedule, warmup, ratio, total);
        var options = Options(Enum.Parse<LrSchedule>(schedule, ignoreCase: true), warmup, ratio);
        var actual = Enumerable.Range(0, total).Select(step => LearningRateSchedule.At(options, step, total)).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < total; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-15 + 1e-12 * expected[i], $"step {i}: torch {expected[i]:R}, Ckpt {actual[i]:R}");
    }

    [Fact]
    public void Warm_up_from_a_ratio_is_rounded_up_and_an_explicit_step_count_wins()
    {
        Assert.Equal(3, LearningRateSchedule.WarmupSteps(0, 0.03, 100));
        Assert.Equal(4, LearningRateSchedule.WarmupSteps(0, 0.03, 101));
        Assert.Equal(5, LearningRateSchedule.WarmupSteps(5, 0.5, 100));
        Assert.Equal(0, LearningRateSchedule.WarmupSteps(0, 0, 100));
    }

    [Fact]
    public void An_unknown_schedule_or_a_ratio_outside_zero_to_one_is_refused_naming_it()
    {
        var e = Assert.Throws<ArgumentException>(() => FineTuningVerb.Bind(new Dictionary<string, IReadOnlyList<string>>
        {
            ["--recipe"] = ["sft"], ["--model"] = ["m"], ["--data"] = ["d"], ["--lr-scheduler"] = ["polynomial"],
        }));
        Assert.Equal("--lr-scheduler must be constant, linear or cosine, not 'polynomial'", e.Message);
        var data = FineTuningFixtures.InstructionIds(Path.Combine(_dir, "sft.jsonl"), 2);
        var r = Assert.Throws<ArgumentException>(() => (Options(LrSchedule.Linear, 0, 1.5) with
        {
            Model = FineTuningFixtures.TinyLlama, Data = data, Output = Path.Combine(_dir, "out"), Steps = 2,
        }).Validate());
        Assert.Contains("--warmup-ratio 1.5", r.Message);
    }

    [Trait("Category", "slow")]
    [PythonTorchFact]
    public void A_cosine_run_logs_each_steps_rate_and_reaches_the_last_at_the_schedules_value()
    {
        var data = FineTuningFixtures.InstructionIds(Path.Combine(_dir, "sft.jsonl"), 8);
        var options = new FineTuningOptions
        {
            Recipe = Recipe.Sft, Model = FineTuningFixtures.TinyLlama, Data = data, Output = Path.Combine(_dir, "out"), Steps = 6, BatchSize = 4,
            LearningRate = 2e-4, WarmupRatio = 0.2, Schedule = LrSchedule.Cosine, Threads = 1,
        };
        var logged = new List<double>();
        FineTuning.Run(options, new Collect(p => logged.Add(p.LearningRate)));
        var expected = TorchRates("cosine", 0, 0.2, 6);
        Assert.Equal(expected.Length, logged.Count);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], logged[i], 1e-15);
        Assert.Equal(0, logged[0]);
    }
}
