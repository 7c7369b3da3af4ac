using Ckpt.Training.Data;

namespace Ckpt.Training;

/// <summary>
/// Supervised fine-tuning (OpenBezoar's QLoRA SFT, TRL's SFTTrainer on prompt-completion data): the completion-only
/// next-token loss, normalised over the completion tokens of all the step's micro-batches (HF's num_items_in_batch).
/// With <c>--packing</c> the examples are first packed into rows (<see cref="SequencePacking"/>) and the batches are
/// made of those rows, each example attending only to itself. The shared steps are <see cref="RecipeSession"/>'s.
/// </summary>
public static class SftRecipe
{
    public static FineTuningResult Run(FineTuningOptions options, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var session = RecipeSession.Open(options, cancellationToken);

        // Data: the examples, their packing into rows, and the held-out set (evaluated unpacked).
        var (sft, dropped) = TrainingData.ReadSft(options.Data, session.Tokenizer, options.Template, options.MaxLength, session.ChatTemplate, session.ModelFolder);
        session.Trace($"data: {sft.Count} examples ({dropped} dropped), tokenizer {session.Tokenizer?.Source ?? "none (pre-tokenized)"}");
        int[][] packed = options.Packing ? SequencePacking.BestFitDecreasing(sft.Select(e => e.Prompt.Length + e.Completion.Length).ToList(), options.MaxLength) : [];
        if (options.Packing)
            session.Trace(string.Create(CultureInfo.InvariantCulture,
                $"packing: {packed.Length} rows of at most {options.MaxLength} tokens, {sft.Sum(e => e.Prompt.Length + e.Completion.Length) / ((double)packed.Length * options.MaxLength):P1} full"));
        IReadOnlyList<SftExample> held = [];
        if (options.EvalData is { } evalData)
        {
            held = TrainingData.ReadSft(evalData, session.Tokenizer, options.Template, options.MaxLength, session.ChatTemplate, session.ModelFolder).Examples;
            session.Trace($"eval data: {held.Count} examples");
        }

        // Model, NF4 base, adapters (or every weight), the output folder and --resume.
        session.LoadModel();
        session.CheckVocabulary(sft.SelectMany(e => e.Prompt.Concat(e.Completion)), options.Data);
        if (options.EvalData is { } evalPath) session.CheckVocabulary(held.SelectMany(e => e.Prompt.Concat(e.Completion)), evalPath);
        session.QuantizeBase();
        session.MakeTrainable();
        session.OpenOutput();

        int perEpoch = options.Packing ? packed.Length : sft.Count, accumulation = options.GradientAccumulation;
        int total = session.TotalSteps(perEpoch);
        var order = new DataOrder(perEpoch, options.BatchSize, options.Seed, options.Shuffle);
        int padId = session.PadId;
        var model = session.Model;
        model.train();

        RecipeSession.StepOutcome Step(int step, bool first)
        {
            var batches = Enumerable.Range(0, accumulation)
                .Select(k => order.Batch((long)step * accumulation + k))
                .Select(indices => !options.Packing ? TrainingBatch.Sft(indices.Select(i => sft[i]).ToList(), padId, session.Device)
                    : options.UnpackPackedRows ? TrainingBatch.Sft(indices.SelectMany(r => packed[r]).Select(i => sft[i]).ToList(), padId, session.Device)
                    : TrainingBatch.Packed(indices.Select(r => packed[r].Select(i => sft[i]).ToList()).ToList(), padId, session.Device))
                .ToList();
            if (first) session.Trace($"step {step + 1}: {accumulation} batch(es) of {options.BatchSize}{(options.Packing ? " packed rows" : "")} on {session.Device}, {batches.Sum(b => b.Tokens)} tokens");
            // Each micro-batch's loss is its share of the step's: summed over its completion tokens and divided by the
            // step's total, so the accumulated gradient is the big batch's.
            double normaliser = Math.Max(1, batches.Sum(b => b.CompletionTokens));
            double loss = 0;
            foreach (var batch in batches)
            {
                using var micro = NewDisposeScope();
                var (sum, _) = SftLoss.SummedTokenLoss(model, batch.Ids, batch.Labels, batch.AttentionMask, batch.PositionIds);
                var l = sum.Over(normaliser);
                if (first) session.Trace("forward and loss");
                l.backward();
                model.ThrowIfBackwardFailed();
                if (first) session.Trace("backward");
                loss += l.item<float>();
            }
            var outcome = new RecipeSession.StepOutcome(loss, new Dictionary<string, double>(), batches.Sum(b => b.Tokens), batches.Sum(b => b.Ids.NumberOfElements - b.Tokens));
            foreach (var b in batches) b.Dispose();
            return outcome;
        }

        Func<IReadOnlyDictionary<string, double>>? evaluate = options.EvalData is null ? null : () => Evaluation.Sft(model, held, options.BatchSize, padId);
        var (done, last, cancelled, tokensPerSecond) = session.Train(total, perEpoch, Step, evaluate, progress);
        session.SaveModel();

        return new FineTuningResult(Recipe.Sft, Path.GetFullPath(options.Output), session.CheckpointRoot, session.Start, done - session.Start, total, cancelled,
            last, tokensPerSecond, sft.Count, dropped, session.TrainableCount, session.TotalCount, session.Quantized, session.Tokenizer?.Source,
            session.Saves, session.Elapsed) { PackedRows = options.Packing ? packed.Length : null, FullModel = options.Full };
    }
}
