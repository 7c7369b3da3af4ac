using Ckpt.Training.Data;

namespace Ckpt.Training;

/// <summary>
/// Unlearning a forget set (`--recipe ga|kl|npo`), the three algorithms RESTOR compares, with their objectives as
/// RESTOR's code writes them (<see cref="UnlearningLoss"/>): gradient ascent; KL = gradient ascent on the forget set plus
/// γ × the KL term to the starting model on the retain set; NPO with β (0.1 as RESTOR). With <c>--retain</c>, GA and NPO
/// add γ × the retain set's next-token loss (RESTOR's GA+FT and NPO classes). The starting model is the reference:
/// adapters off under LoRA/QLoRA, a frozen copy with <c>--full</c>. Each optimizer step takes one batch of the forget set
/// and, when there is one, one batch of the retain set (its own shuffled order), per micro-batch.
/// </summary>
public static class UnlearningRecipe
{
    public static FineTuningResult Run(FineTuningOptions options, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var session = RecipeSession.Open(options, cancellationToken);
        if (options.Recipe is not (Recipe.Ga or Recipe.Kl or Recipe.Npo))
            throw new ArgumentException($"--recipe {options.Recipe.ToString().ToLowerInvariant()} is not an unlearning recipe");

        // Data: the forget set, the retain set, and held-out documents whose loss is logged (it should rise).
        var (forget, dropped) = Documents(session, options.Data);
        var retain = options.Retain is { } retainPath ? Documents(session, retainPath).Examples : null;
        var held = options.EvalData is { } evalPath ? Documents(session, evalPath).Examples : null;
        session.Trace($"data: {forget.Count} forget documents ({dropped} dropped), {retain?.Count ?? 0} retain, tokenizer {session.Tokenizer?.Source ?? "none (pre-tokenized)"}");

        // Model, trainable weights, the starting model as reference, the output folder.
        session.LoadModel();
        foreach (var (set, path) in new[] { (forget, options.Data), (retain, options.Retain), (held, options.EvalData) })
            if (set is not null) session.CheckVocabulary(set.SelectMany(e => e.Prompt.Concat(e.Completion)), path!);
        session.QuantizeBase();
        session.MakeTrainable();
        if (options.Recipe is Recipe.Kl or Recipe.Npo) session.KeepReference();
        session.OpenOutput();

        int total = session.TotalSteps(forget.Count), accumulation = options.GradientAccumulation;
        var forgetOrder = new DataOrder(forget.Count, options.BatchSize, options.Seed, options.Shuffle);
        var retainOrder = retain is null ? null : new DataOrder(retain.Count, options.BatchSize, options.Seed + 1, options.Shuffle);
        var model = session.Model;
        model.train(); // as RESTOR's HF Trainer
        int padId = session.PadId;

        RecipeSession.StepOutcome Step(int step, bool first)
        {
            var forgetBatches = Batches(forgetOrder, forget, step);
            var retainBatches = retain is null ? [] : Batches(retainOrder!, retain, step);
            if (first) session.Trace($"step {step + 1}: {accumulation} batch(es) of {options.BatchSize} forget{(retain is null ? "" : " + retain")} documents on {session.Device}");
            // Each micro-batch's terms are its share of the step's: token sums over the step's tokens (GA, retain NLL),
            // sequence sums over its sequences (NPO), position sums over its positions (the KL term).
            double forgetTokens = Math.Max(1, forgetBatches.Sum(b => b.CompletionTokens));
            double forgetSequences = forgetBatches.Sum(b => b.Examples);
            double retainTokens = Math.Max(1, retainBatches.Sum(b => b.CompletionTokens));
            double retainPositions = Math.Max(1, retainBatches.Sum(b => b.Tokens));
            double loss = 0, forgetNll = 0, logRatio = 0, retainTerm = 0, retainKl = 0;
            for (int k = 0; k < forgetBatches.Count; k++)
            {
                using var micro = NewDisposeScope();
                var batch = forgetBatches[k];
                var logits = model.Forward(batch.Ids.to(model.Device), batch.AttentionMask?.to(model.Device));
                var (nll, count) = UnlearningLoss.RowNll(logits, batch.Labels);
                forgetNll += nll.sum().item<float>();
                Tensor forgetLoss;
                if (options.Recipe == Recipe.Npo)
                {
                    var referenceLogits = session.Reference(m => m.Forward(batch.Ids.to(m.Device), batch.AttentionMask?.to(m.Device)));
                    var (referenceNll, _) = UnlearningLoss.RowNll(referenceLogits, batch.Labels);
                    var meanNll = nll.div(count.AtLeast(1.0));
                    var referenceMean = referenceNll.div(count.AtLeast(1.0));
                    logRatio += referenceMean.sub(meanNll).sum().item<float>();
                    forgetLoss = UnlearningLoss.NpoFromMeanNll(meanNll, referenceMean, options.Beta).sum().Over(forgetSequences);
                }
                else forgetLoss = nll.sum().Over(forgetTokens).neg();
                if (first && k == 0) session.Trace("forward and loss");
                forgetLoss.backward();
                model.ThrowIfBackwardFailed();
                if (first && k == 0) session.Trace("backward");
                loss += forgetLoss.item<float>();

                if (retainBatches.Count == 0) continue;
                var r = retainBatches[k];
                var retainLogits = model.Forward(r.Ids.to(model.Device), r.AttentionMask?.to(model.Device));
                Tensor retainLoss;
                if (options.Recipe == Recipe.Kl)
                {
                    var referenceLogits = session.Reference(m => m.Forward(r.Ids.to(m.Device), r.AttentionMask?.to(m.Device)));
                    var (crossEntropy, _) = UnlearningLoss.RetainCrossEntropy(retainLogits, referenceLogits, r.AttentionMask);
                    using (no_grad())
                        retainKl += UnlearningLoss.KlDivergence(retainLogits, referenceLogits, r.AttentionMask).Sum.item<float>();
                    retainTerm += crossEntropy.item<float>();
                    retainLoss = crossEntropy.Over(retainPositions).Times(options.Gamma);
                }
                else
                {
                    var (retainNll, _) = UnlearningLoss.RowNll(retainLogits, r.Labels);
                    retainTerm += retainNll.sum().item<float>();
                    retainLoss = retainNll.sum().Over(retainTokens).Times(options.Gamma);
                }
                retainLoss.backward();
                model.ThrowIfBackwardFailed();
                loss += retainLoss.item<float>();
            }
            var metrics = new Dictionary<string, double> { ["forget_loss"] = forgetNll / forgetTokens };
            if (options.Recipe == Recipe.Npo) metrics["npo/log_ratio"] = logRatio / forgetSequences;
            if (options.Recipe == Recipe.Kl)
            {
                metrics["retain_cross_entropy"] = retainTerm / retainPositions;
                metrics["retain_kl"] = retainKl / retainPositions;
            }
            else if (retain is not null) metrics["retain_loss"] = retainTerm / retainTokens;
            var all = forgetBatches.Concat(retainBatches).ToList();
            var outcome = new RecipeSession.StepOutcome(loss, metrics, all.Sum(b => b.Tokens), all.Sum(b => b.Ids.NumberOfElements - b.Tokens));
            foreach (var b in all) b.Dispose();
            return outcome;
        }

        List<TrainingBatch> Batches(DataOrder order, IReadOnlyList<SftExample> set, int step) =>
            Enumerable.Range(0, accumulation).Select(k => TrainingBatch.Sft(order.Batch((long)step * accumulation + k).Select(i => set[i]).ToList(), padId, session.Device)).ToList();

        // Held-out documents: their mean next-token loss, which unlearning them (or their like) should raise.
        Func<IReadOnlyDictionary<string, double>>? evaluate = held is null ? null : () => Evaluation.Sft(model, held, options.BatchSize, padId);
        var (done, last, cancelled, tokensPerSecond) = session.Train(total, forget.Count, Step, evaluate, progress);
        session.SaveModel();

        return new FineTuningResult(options.Recipe, Path.GetFullPath(options.Output), session.CheckpointRoot, session.Start, done - session.Start, total, cancelled,
            last, tokensPerSecond, forget.Count, dropped, session.TrainableCount, session.TotalCount, session.Quantized, session.Tokenizer?.Source,
            session.Saves, session.Elapsed) { FullModel = options.Full };
    }

    static (IReadOnlyList<SftExample> Examples, int Dropped) Documents(RecipeSession session, string path) =>
        TrainingData.ReadDocuments(path, session.Tokenizer, session.Options.Template, session.Options.MaxLength, session.ChatTemplate, session.ModelFolder);
}
