using Ckpt.Models;
using Ckpt.Training;
using Ckpt.Training.Data;

namespace Ckpt.Forensics.Restor.Toy;

/// <summary>
/// Full-parameter causal-LM training on whole documents, for the toy's pre-training (from random weights) and its
/// continual training on the corruption documents: every weight trains, the loss is the mean next-token
/// cross-entropy over every real token after BOS (EOS included), AdamW (<see cref="LoraAdamW"/>, which takes any
/// parameters) at a constant rate, batches drawn from a seeded shuffle, one epoch after another.
/// `ckpt finetune` trains adapters, not every weight, so it cannot pre-train a model; this loop is what the toy needs
/// and no more.
/// </summary>
public static class ToyPretraining
{
    /// <summary>The HF initialisation of a LLaMA: every matrix N(0, 0.02²), norm scales 1, drawn from a generator seeded with <paramref name="seed"/>.</summary>
    public static void Initialise(CausalLanguageModel model, long seed)
    {
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)seed, CPU);
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.ndim == 1) { using var ones = ones_like(p); p.copy_(ones); continue; }
            using var drawn = randn(p.shape, ScalarType.Float32, CPU, generator: generator);
            using var scaled = drawn.Times(0.02);
            p.copy_(scaled);
        }
    }

    /// <returns>The loss of every step.</returns>
    public static IReadOnlyList<double> Train(CausalLanguageModel model, TextTokenizer tokenizer, IReadOnlyList<string> documents, int steps, int batch,
        double learningRate, long seed, Action<int, double>? onStep = null, CancellationToken cancellationToken = default)
    {
        if (documents.Count == 0) throw new ArgumentException("no documents to train on");
        var eos = tokenizer.Special.Eos ?? throw new ArgumentException("the tokenizer has no EOS id");
        var encoded = documents.Select(d => tokenizer.Encode(d, addBos: true).Append(eos).ToArray()).ToList();
        var named = model.named_parameters().ToList();
        foreach (var (_, p) in named) p.requires_grad = true;
        model.train();
        using var optimizer = new LoraAdamW(named);
        var order = new DataOrderQueue(encoded.Count, seed);
        var losses = new List<double>(steps);
        try
        {
            for (int step = 1; step <= steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rows = Enumerable.Range(0, Math.Min(batch, encoded.Count)).Select(_ => encoded[order.Next()]).ToList();
                double loss;
                using (NewDisposeScope())
                {
                    int width = rows.Max(r => r.Length);
                    var ids = new long[rows.Count * width];
                    var mask = new long[rows.Count * width];
                    for (int r = 0; r < rows.Count; r++)
                        for (int t = 0; t < width; t++)
                        {
                            ids[r * width + t] = t < rows[r].Length ? rows[r][t] : tokenizer.Special.PadOrDefault;
                            mask[r * width + t] = t < rows[r].Length ? 1 : 0;
                        }
                    var idTensor = tensor(ids, ScalarType.Int64).view(rows.Count, width);
                    var maskTensor = tensor(mask, ScalarType.Int64).view(rows.Count, width);
                    var labels = SftLoss.CompletionLabels(idTensor, Enumerable.Repeat(1L, rows.Count).ToArray(), maskTensor);
                    var value = SftLoss.Compute(model, idTensor, labels, maskTensor);
                    optimizer.ZeroGrad();
                    value.backward();
                    optimizer.Step(learningRate);
                    loss = value.item<float>();
                }
                losses.Add(loss);
                onStep?.Invoke(step, loss);
            }
        }
        finally
        {
            foreach (var (_, p) in named) { p.requires_grad = false; p.grad = null; }
            model.eval();
        }
        return losses;
    }

    /// <summary>Indices in a fresh seeded shuffle each epoch.</summary>
    sealed class DataOrderQueue(int count, long seed)
    {
        readonly Random _rng = new(unchecked((int)seed));
        readonly Queue<int> _queue = new();

        public int Next()
        {
            if (_queue.Count == 0) foreach (var i in Enumerable.Range(0, count).OrderBy(_ => _rng.Next())) _queue.Enqueue(i);
            return _queue.Dequeue();
        }
    }
}
