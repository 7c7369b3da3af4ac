using Ckpt.Training.Data;

namespace Ckpt.Training;

/// <summary>
/// Direct preference optimisation with TRL's losses (<see cref="DpoLoss"/>): each step scores the chosen and rejected
/// completions of its pairs under the model and under the starting model (the same model with its adapters off, or
/// with <c>--full</c> a frozen copy), and the loss is the mean over all the step's pairs. Dropout is off, as TRL's DPOConfig.disable_dropout.
/// The shared steps are <see cref="RecipeSession"/>'s.
/// </summary>
public static class DpoRecipe
{
    public static FineTuningResult Run(FineTuningOptions options, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var session = RecipeSession.Open(options, cancellationToken);

        // Data: the preference pairs and the held-out pairs.
        var (pairs, dropped) = TrainingData.ReadPreferences(options.Data, session.Tokenizer, options.Template, options.MaxLength, session.ChatTemplate, session.ModelFolder);
        session.Trace($"data: {pairs.Count} examples ({dropped} dropped), tokenizer {session.Tokenizer?.Source ?? "none (pre-tokenized)"}");
        IReadOnlyList<PreferenceExample> held = [];
        if (options.EvalData is { } evalData)
        {
            held = TrainingData.ReadPreferences(evalData, session.Tokenizer, options.Template, options.MaxLength, session.ChatTemplate, session.ModelFolder).Examples;
            session.Trace($"eval data: {held.Count} examples");
        }

        // Model, NF4 base, adapters (or every weight and a frozen reference), the output folder and --resume.
        session.LoadModel();
        session.CheckVocabulary(pairs.SelectMany(e => e.Prompt.Concat(e.Chosen).Concat(e.Rejected)), options.Data);
        if (options.EvalData is { } evalPath) session.CheckVocabulary(held.SelectMany(e => e.Prompt.Concat(e.Chosen).Concat(e.Rejected)), evalPath);
        session.QuantizeBase();
        session.MakeTrainable();
        session.KeepReference();
        var reference = session.FrozenReference;
        session.OpenOutput();

        int accumulation = options.GradientAccumulation;
        int total = session.TotalSteps(pairs.Count);
        var order = new DataOrder(pairs.Count, options.BatchSize, options.Seed, options.Shuffle);
        int padId = session.PadId;
        var model = session.Model;
        model.eval(); // TRL DPOConfig.disable_dropout

        RecipeSession.StepOutcome Step(int step, bool first)
        {
            var batches = Enumerable.Range(0, accumulation)
                .Select(k => TrainingBatch.Preferences(order.Batch((long)step * accumulation + k).Select(i => pairs[i]).ToList(), padId, session.Device))
                .ToList();
            if (first) session.Trace($"step {step + 1}: {accumulation} batch(es) of {options.BatchSize} on {session.Device}, {batches.Sum(b => b.Tokens)} tokens");
            // Each micro-batch's loss is its share of the step's: summed over its pairs and divided by the step's pairs.
            double normaliser = batches.Sum(b => b.Examples);
            double loss = 0;
            var metrics = new Dictionary<string, double>();
            foreach (var batch in batches)
            {
                using var micro = NewDisposeScope();
                using var dpo = DpoLoss.ComputeSequences(model, batch.Ids, batch.Labels, batch.AttentionMask, options.Beta, options.DpoLoss, options.LabelSmoothing, reference);
                var l = dpo.Losses.sum().Over(normaliser);
                foreach (var (key, value) in dpo.Metrics().Where(kv => kv.Key != "loss"))
                    metrics[key] = metrics.GetValueOrDefault(key) + value * batch.Examples / normaliser;
                if (first) session.Trace("forward and loss");
                l.backward();
                model.ThrowIfBackwardFailed();
                if (first) session.Trace("backward");
                loss += l.item<float>();
            }
            var outcome = new RecipeSession.StepOutcome(loss, metrics, batches.Sum(b => b.Tokens), batches.Sum(b => b.Ids.NumberOfElements - b.Tokens));
            foreach (var b in batches) b.Dispose();
            return outcome;
        }

        Func<IReadOnlyDictionary<string, double>>? evaluate = options.EvalData is null ? null
            : () => Evaluation.Dpo(model, held, options.BatchSize, padId, options.Beta, options.DpoLoss, options.LabelSmoothing, referenceModel: reference);
        var (done, last, cancelled, tokensPerSecond) = session.Train(total, pairs.Count, Step, evaluate, progress);
        session.SaveModel();

        return new FineTuningResult(Recipe.Dpo, Path.GetFullPath(options.Output), session.CheckpointRoot, session.Start, done - session.Start, total, cancelled,
            last, tokensPerSecond, pairs.Count, dropped, session.TrainableCount, session.TotalCount, session.Quantized, session.Tokenizer?.Source,
            session.Saves, session.Elapsed) { FullModel = options.Full };
    }
}
