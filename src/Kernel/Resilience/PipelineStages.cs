using System.Text.RegularExpressions;
using Ckpt.Models;
using TorchSharp.Modules;

namespace Ckpt.Resilience;

/// <summary>
/// A LLaMA cut into pipeline stages the way pipeline parallelism places it on nodes: stage s owns a contiguous
/// group of decoder layers (the first stages take one more when the layers do not divide evenly); the first stage
/// also owns the token embedding, the last the final norm and the lm_head. The stages are views over the model's
/// own parameters, so the model trains as one while each stage can be lost, measured and rebuilt alone.
/// </summary>
public sealed partial class PipelineStages
{
    readonly PipelineStage[] _stages;

    PipelineStages(PipelineStage[] stages) { _stages = stages; }

    public IReadOnlyList<PipelineStage> Stages => _stages;
    public PipelineStage this[int index] => _stages[index];
    public int Count => _stages.Length;

    public static PipelineStages Split(LlamaForCausalLm model, int stageCount)
    {
        int layers = model.Model.Layers.Count;
        if (stageCount < 2 || stageCount > layers)
            throw new ArgumentOutOfRangeException(nameof(stageCount), $"{layers} decoder layers split into 2..{layers} stages, not {stageCount}");
        var firstLayer = new int[stageCount + 1];
        for (int s = 0; s < stageCount; s++) firstLayer[s + 1] = firstLayer[s] + layers / stageCount + (s < layers % stageCount ? 1 : 0);

        var blocks = Enumerable.Range(0, stageCount).Select(_ => new List<(string, Parameter)>()).ToArray();
        var ends = Enumerable.Range(0, stageCount).Select(_ => new List<(string, Parameter)>()).ToArray();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (LayerName().Match(name) is { Success: true } m)
            {
                int layer = int.Parse(m.Groups[1].Value);
                blocks[Array.FindLastIndex(firstLayer, f => f <= layer)].Add((name, parameter));
            }
            else if (name.StartsWith("model.embed_tokens.", StringComparison.Ordinal)) ends[0].Add((name, parameter));
            else ends[stageCount - 1].Add((name, parameter)); // model.norm, lm_head
        }
        // Pairing across stages is by position: layer order, then the parameter's name within its layer.
        return new PipelineStages(Enumerable.Range(0, stageCount).Select(s => new PipelineStage(s, firstLayer[s], firstLayer[s + 1] - firstLayer[s],
            blocks[s].OrderBy(b => LayerOf(b.Item1)).ThenBy(b => WithinLayer(b.Item1), StringComparer.Ordinal).ToArray(), ends[s].ToArray())).ToArray());
    }

    /// <summary>A failure: the stage's weights are gone (overwritten with NaN, so nothing of them can leak into a recovery).</summary>
    public void Lose(int stage)
    {
        using var _ = no_grad();
        foreach (var (_, p) in _stages[stage].Parameters) p.FillInPlace(double.NaN);
    }

    /// <summary>
    /// CheckFree: the lost stage's decoder layers become the average of its neighbours' layers weighted by their
    /// recent squared gradient norms (<see cref="CheckFreeRecovery"/>); an edge stage copies its only neighbour's
    /// layers (CheckFree+). An edge stage's embedding or norm and lm_head cannot be interpolated: CheckFree+
    /// keeps a copy of them on the neighbouring stage, passed here as <paramref name="endReplica"/> (by name).
    /// Returns the weight given to the previous stage (1 or 0 for an edge).
    /// </summary>
    public double RebuildFromNeighbours(int lost, IReadOnlyList<double> gradientNormSquared,
        IReadOnlyDictionary<string, Tensor>? endReplica = null)
    {
        if (gradientNormSquared.Count != Count) throw new ArgumentException($"one squared gradient norm per stage ({Count})", nameof(gradientNormSquared));
        var stage = _stages[lost];
        StageWeights? Neighbour(int s)
        {
            if (s < 0 || s >= Count) return null;
            if (_stages[s].LayerCount != stage.LayerCount)
                throw new InvalidOperationException($"stage {s} has {_stages[s].LayerCount} layers and the lost stage {lost} has {stage.LayerCount}; CheckFree needs neighbours built alike");
            return new StageWeights(_stages[s].Blocks.Select(b => Floats(b.Parameter)).ToArray(), gradientNormSquared[s]);
        }
        var previous = Neighbour(lost - 1);
        var next = Neighbour(lost + 1);
        var rebuilt = CheckFreeRecovery.Rebuild(previous, next);
        using (no_grad())
        {
            for (int i = 0; i < rebuilt.Length; i++)
            {
                var p = stage.Blocks[i].Parameter;
                using var values = tensor(rebuilt[i], p.shape, p.dtype, p.device);
                p.copy_(values);
            }
            foreach (var (name, p) in stage.Ends)
            {
                if (endReplica is null || !endReplica.TryGetValue(name, out var replica))
                    throw new InvalidOperationException($"stage {lost} owns {name}, which neighbours cannot rebuild: pass the replica CheckFree+ keeps on the neighbouring stage");
                p.copy_(replica);
            }
        }
        if (previous is null) return 0;
        if (next is null) return 1;
        double total = previous.GradientNormSquared + next.GradientNormSquared;
        return total > 0 ? previous.GradientNormSquared / total : 0.5;
    }

    /// <summary>The baseline: the lost stage starts again from the model's initialisation (matrices N(0, std²), norm scales 1).</summary>
    public void Reinitialise(int stage, double std, Generator? generator = null)
    {
        using var _ = no_grad();
        foreach (var (_, p) in _stages[stage].Parameters) Initialise(p, std, generator);
    }

    public static void Initialise(Parameter p, double std, Generator? generator)
    {
        if (p.dim() == 1) p.FillInPlace(1.0); // RMSNorm scales (the LLaMA has no biases)
        else p.normal_(0, std, generator);
    }

    static float[] Floats(Parameter p)
    {
        using var cpu = p.detach().to(ScalarType.Float32, CPU).contiguous();
        return cpu.data<float>().ToArray();
    }

    static int LayerOf(string name) => int.Parse(LayerName().Match(name).Groups[1].Value);
    static string WithinLayer(string name) => LayerName().Match(name).Groups[2].Value;

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)$")]
    private static partial Regex LayerName();
}

/// <summary>One stage: its decoder layers' parameters (in pairing order) and the embedding or head it owns at an end.</summary>
public sealed class PipelineStage(int index, int firstLayer, int layerCount,
    IReadOnlyList<(string Name, Parameter Parameter)> blocks, IReadOnlyList<(string Name, Parameter Parameter)> ends)
{
    public int Index { get; } = index;
    public int FirstLayer { get; } = firstLayer;
    public int LayerCount { get; } = layerCount;
    public IReadOnlyList<(string Name, Parameter Parameter)> Blocks { get; } = blocks;
    public IReadOnlyList<(string Name, Parameter Parameter)> Ends { get; } = ends;
    public IEnumerable<(string Name, Parameter Parameter)> Parameters => Blocks.Concat(Ends);
    public long ElementCount => Parameters.Sum(p => p.Parameter.numel());

    /// <summary>Squared L2 norm of the gradients of all this stage's parameters (0 where no gradient exists yet).</summary>
    public double GradientNormSquared() => SquaredNorm(Parameters);

    /// <summary>
    /// The same over the decoder layers only: what CheckFree weighs, since those are the weights it averages
    /// (the embedding's gradient would otherwise dominate the first stage's norm in a shallow model).
    /// </summary>
    public double BlockGradientNormSquared() => SquaredNorm(Blocks);

    static double SquaredNorm(IEnumerable<(string Name, Parameter Parameter)> parameters)
    {
        double sum = 0;
        using var _ = no_grad();
        foreach (var (_, p) in parameters)
        {
            if (p.grad is not { } g) continue;
            using var sq = g.to(ScalarType.Float64).square().sum();
            sum += sq.item<double>();
        }
        return sum;
    }
}
