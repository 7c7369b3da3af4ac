// A sample, not part of the engine: the CheckFree experiment over Ckpt's recovery API (Ckpt.Resilience.CheckFreeRecovery,
// PipelineStages, StageAdamW). Plain C# that is also a valid C# script, so that notebooks/04-checkfree-recovery.ipynb can
// `#load` it and bench/Resilience and the tests compile it; hence no namespace (a script cannot declare one) and
// every using spelled out (a script has no implicit usings).
#pragma warning disable CA1050 // types in the global namespace: see above
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Text.Json.Nodes;
using Ckpt;
using Ckpt.Models;
using Ckpt.Resilience;
using Ckpt.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

/// <summary>
/// The CheckFree experiment: a LLaMA split into pipeline stages trains with AdamW on next-token loss; at step
/// <see cref="CheckFreeExperimentOptions.FailureStep"/> one stage's weights (and its optimizer moments) are lost.
/// From that one state three runs continue on the same batches: no failure, the stage rebuilt by CheckFree
/// (its neighbours averaged by their recent squared gradient norms), and the stage re-initialised from scratch.
/// Each curve is the training loss on a fixed subset of the sequences after every step; a run has recovered at the first step whose
/// loss is within the tolerance of the loss just before the failure.
/// </summary>
public static class CheckFreeExperiment
{
    /// <summary>Runs on a trajectory fixture folder: its config.json (with the depth the options ask for) and its eval batch.</summary>
    public static CheckFreeExperimentResult Run(string fixtureFolder, CheckFreeExperimentOptions? options = null,
        Action<string, int, double>? progress = null, CancellationToken cancellationToken = default)
    {
        Ckpt.Models.TorchNativeLibraries.Require("the CheckFree experiment", "a program that references libtorch-cpu-linux-x64");
        var config = ModelConfig.ReadFile(Path.Combine(fixtureFolder, "config.json")) as LlamaConfig
            ?? throw new ArgumentException($"{fixtureFolder}/config.json does not describe a LLaMA");
        using var batch = Checkpoint.Open(Path.Combine(fixtureFolder, "eval_batch.safetensors"), cancellationToken);
        var name = batch.Manifest.Tensors.Single(t => t.Shape.Count == 2).Name;
        using var data = batch.Read(name);
        using var ids = data.ToTorch();
        using var tokens = ids.to(ScalarType.Int64);
        return Run(config, tokens, options, progress, cancellationToken);
    }

    /// <param name="tokens">[sequences, length] int64: the training set; the loss curves are measured on its first <see cref="CheckFreeExperimentOptions.LossRows"/>.</param>
    /// <param name="progress">Called after every step with the run's label, the step and its loss.</param>
    public static CheckFreeExperimentResult Run(LlamaConfig config, Tensor tokens, CheckFreeExperimentOptions? options = null,
        Action<string, int, double>? progress = null, CancellationToken cancellationToken = default)
    {
        var o = options ?? new CheckFreeExperimentOptions();
        o.Validate();
        var clock = Stopwatch.StartNew();
        var shaped = config with { NumLayers = o.Layers ?? config.NumLayers };
        if (shaped.NumLayers % o.Stages != 0)
            throw new ArgumentException($"{shaped.NumLayers} layers do not split into {o.Stages} equal stages; CheckFree averages stages built alike");

        // A model this small gains nothing from intra-op threads, and OpenMP workers spinning on a shared
        // machine slow every step down by orders of magnitude.
        int threads = torch.get_num_threads();
        torch.set_num_threads(o.Threads);
        try { return Train(config, shaped, tokens, o, progress, clock, cancellationToken); }
        finally { torch.set_num_threads(threads); }
    }

    static CheckFreeExperimentResult Train(LlamaConfig config, LlamaConfig shaped, Tensor tokens, CheckFreeExperimentOptions o,
        Action<string, int, double>? progress, Stopwatch clock, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)o.Seed);
        using var model = new LlamaForCausalLm(shaped, ScalarType.Float32, CPU);
        var parameters = model.parameters().ToArray();
        using (no_grad())
            foreach (var p in parameters) PipelineStages.Initialise(p, o.InitialStd, generator);
        foreach (var p in parameters) p.requires_grad = true;
        var stages = PipelineStages.Split(model, o.Stages);
        using var optimizer = new StageAdamW(parameters, o.LearningRate, o.WeightDecay);
        // The curves' loss is the training loss on a fixed subset (the first LossRows sequences), the same in
        // every branch: recovery is about getting back to where training was, as in the paper's loss curves.
        var measured = tokens.narrow(0, 0, Math.Min(o.LossRows, tokens.shape[0]));
        var training = tokens;
        var schedule = new BatchSchedule(training.shape[0], o.BatchSize, o.Seed);

        var gradientHistory = new List<double[]>();
        var before = new List<double>();
        for (int step = 1; step <= o.FailureStep; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            optimizer.LearningRate = RateAt(o, step);
            gradientHistory.Add(TrainStep(model, stages, optimizer, training, schedule.For(step)));
            before.Add(Loss(model, measured));
            progress?.Invoke("before failure", step, before[^1]);
        }
        double preFailure = before[^1];
        var recent = Enumerable.Range(0, o.Stages)
            .Select(s => gradientHistory.TakeLast(o.GradientWindow).Average(g => g[s])).ToArray();

        // The state at the failure, which every branch starts from.
        var weights = parameters.Select(p => p.detach().clone()).ToArray();
        var moments = optimizer.Save();
        // CheckFree+ keeps the edge stages' embedding / norm and head on their neighbours: a copy taken now.
        var endReplica = stages.Stages.SelectMany(s => s.Ends).ToDictionary(e => e.Name, e => e.Parameter.detach().clone());

        RecoveryCurve Branch(string label, Func<double?> recover)
        {
            using (no_grad())
                for (int i = 0; i < parameters.Length; i++) parameters[i].copy_(weights[i]);
            optimizer.Restore(moments);
            var weightOfPrevious = recover();
            var losses = new List<double> { Loss(model, measured) };
            for (int k = 1; k <= o.StepsAfterFailure; k++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                optimizer.LearningRate = RateAt(o, o.FailureStep + k);
                TrainStep(model, stages, optimizer, training, schedule.For(o.FailureStep + k));
                losses.Add(Loss(model, measured));
                progress?.Invoke(label, k, losses[^1]);
            }
            int? recovered = null;
            for (int k = 0; k < losses.Count && recovered is null; k++)
                if (losses[k] <= preFailure * (1 + o.Tolerance)) recovered = k;
            return new RecoveryCurve(label, losses, recovered, weightOfPrevious);
        }

        var lostParameters = stages[o.LostStage].Parameters.Select(p => p.Parameter).ToArray();
        var none = Branch("no failure", () => null);
        var checkFree = Branch("CheckFree", () =>
        {
            stages.Lose(o.LostStage);
            optimizer.Reset(lostParameters);
            return stages.RebuildFromNeighbours(o.LostStage, recent, endReplica);
        });
        var scratch = Branch("from scratch", () =>
        {
            stages.Lose(o.LostStage);
            optimizer.Reset(lostParameters);
            stages.Reinitialise(o.LostStage, o.InitialStd, new Generator((ulong)o.Seed + 1));
            return null;
        });

        return new CheckFreeExperimentResult(o, shaped.NumLayers, stages.Stages.Select(s => s.ElementCount).ToArray(),
            before, preFailure, recent, none, checkFree, scratch, clock.Elapsed);
    }

    /// <summary>Cosine decay from the peak rate to a tenth of it over the planned run (the LLaMA recipe, without warm-up).</summary>
    static double RateAt(CheckFreeExperimentOptions o, int step)
    {
        if (!o.CosineDecay) return o.LearningRate;
        double progress = (step - 1) / (double)(o.FailureStep + o.StepsAfterFailure);
        return o.LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    static double[] TrainStep(LlamaForCausalLm model, PipelineStages stages, StageAdamW optimizer, Tensor tokens, long[] rows)
    {
        using var scope = NewDisposeScope();
        optimizer.ZeroGrad();
        var batch = tokens.index_select(0, tensor(rows));
        var loss = NextTokenLoss(model, batch);
        loss.backward();
        var norms = stages.Stages.Select(s => s.BlockGradientNormSquared()).ToArray();
        optimizer.Step();
        return norms;
    }

    static double Loss(LlamaForCausalLm model, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return NextTokenLoss(model, tokens).item<float>();
    }

    static Tensor NextTokenLoss(LlamaForCausalLm model, Tensor tokens)
    {
        long t = tokens.shape[1];
        var logits = model.Forward(tokens.narrow(1, 0, t - 1));
        var targets = tokens.narrow(1, 1, t - 1);
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));
    }

    /// <summary>Which rows train at each step: a seeded shuffle per epoch, the same in every branch.</summary>
    sealed class BatchSchedule(long rows, int batchSize, int seed)
    {
        readonly Dictionary<long, long[]> _epochs = [];

        public long[] For(int step)
        {
            long perEpoch = Math.Max(1, rows / batchSize);
            long epoch = (step - 1) / perEpoch, index = (step - 1) % perEpoch;
            if (!_epochs.TryGetValue(epoch, out var order))
            {
                order = Enumerable.Range(0, (int)rows).Select(i => (long)i).ToArray();
                new Random(unchecked(seed * 1_000_003 + (int)epoch)).Shuffle(order); // not HashCode: it is seeded per process
                _epochs[epoch] = order;
            }
            return order.Skip((int)(index * batchSize)).Take(batchSize).ToArray();
        }
    }
}

/// <summary>How the experiment runs. Defaults: 4 stages of one decoder layer each, the third stage's neighbours average into the second.</summary>
public sealed record CheckFreeExperimentOptions
{
    public int Stages { get; init; } = 4;
    /// <summary>Decoder layers (null keeps the config's); a multiple of <see cref="Stages"/>.</summary>
    public int? Layers { get; init; } = 4;
    public int LostStage { get; init; } = 1;
    public int FailureStep { get; init; } = 200;
    public int StepsAfterFailure { get; init; } = 100;
    public int BatchSize { get; init; } = 32;
    /// <summary>Sequences (the first ones of the token batch, also trained on) the loss curves are measured on after every step.</summary>
    public int LossRows { get; init; } = 64;
    public double LearningRate { get; init; } = 3e-3;
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Cosine decay of the learning rate to a tenth over FailureStep + StepsAfterFailure steps; false keeps it constant.</summary>
    public bool CosineDecay { get; init; } = true;
    /// <summary>Steps whose squared gradient norms (of the stage's decoder layers) are averaged into its CheckFree weight.</summary>
    public int GradientWindow { get; init; } = 10;
    /// <summary>Recovered = loss within this fraction above the loss just before the failure.</summary>
    public double Tolerance { get; init; } = 0.05;
    public int Seed { get; init; } = 7;
    /// <summary>LibTorch intra-op threads while the experiment runs (restored afterwards).</summary>
    public int Threads { get; init; } = 1;
    /// <summary>Standard deviation of the initial matrices (the fixture's initializer_range).</summary>
    public double InitialStd { get; init; } = 0.02;

    internal void Validate()
    {
        if (LostStage < 0 || LostStage >= Stages) throw new ArgumentOutOfRangeException(nameof(LostStage));
        if (FailureStep < 1 || StepsAfterFailure < 1 || BatchSize < 1 || GradientWindow < 1)
            throw new ArgumentOutOfRangeException(nameof(FailureStep), "steps, batch size and window must be positive");
    }
}

/// <summary>One branch after the failure: the loss at the failure (index 0, after recovery) and after every later step.</summary>
/// <param name="StepsToRecover">Steps after the failure until the loss is within tolerance of the pre-failure loss; null if never.</param>
/// <param name="WeightOfPrevious">CheckFree's weight on the previous stage (the next gets 1 minus it); null for the other branches.</param>
public sealed record RecoveryCurve(string Label, IReadOnlyList<double> Loss, int? StepsToRecover, double? WeightOfPrevious);

public sealed record CheckFreeExperimentResult(CheckFreeExperimentOptions Options, int Layers, IReadOnlyList<long> StageElements,
    IReadOnlyList<double> LossBeforeFailure, double PreFailureLoss, IReadOnlyList<double> RecentGradientNormSquared,
    RecoveryCurve NoFailure, RecoveryCurve CheckFree, RecoveryCurve FromScratch, TimeSpan Elapsed) : IRecoveryChart
{
    public IReadOnlyList<RecoveryCurve> Curves => [NoFailure, CheckFree, FromScratch];

    /// <summary>
    /// The chart input (Ckpt.Charts kind <c>recovery</c>): one curve per run against the training step; the
    /// no-failure curve carries the training before the failure too, the others start at the failure step with
    /// the loss right after their recovery.
    /// </summary>
    public JsonObject ToChartJson()
    {
        int f = Options.FailureStep;
        JsonObject Curve(RecoveryCurve c, bool withHistory)
        {
            var steps = (withHistory ? Enumerable.Range(1, f) : []).Concat(Enumerable.Range(f + (withHistory ? 1 : 0), c.Loss.Count - (withHistory ? 1 : 0)));
            var loss = (withHistory ? LossBeforeFailure : []).Concat(withHistory ? c.Loss.Skip(1) : c.Loss);
            return new JsonObject
            {
                ["label"] = c.Label,
                ["steps"] = new JsonArray(steps.Select(x => (JsonNode)x).ToArray()),
                ["loss"] = new JsonArray(loss.Select(x => (JsonNode)x).ToArray()),
                ["stepsToRecover"] = c.StepsToRecover,
                ["weightOfPrevious"] = c.WeightOfPrevious,
            };
        }
        return new JsonObject
        {
            ["title"] = $"micro LLaMA, {Layers} layers in {Options.Stages} stages",
            ["failureStep"] = f,
            ["lostStage"] = Options.LostStage,
            ["preFailureLoss"] = PreFailureLoss,
            ["tolerance"] = Options.Tolerance,
            ["curves"] = new JsonArray(Curve(NoFailure, true), Curve(CheckFree, false), Curve(FromScratch, false)),
        };
    }
}
