using Ckpt.Models;
using Ckpt.Training.Data;

namespace Ckpt.Training;

/// <summary>
/// The held-out metrics a run logs between steps, under TRL's names: `eval_loss` (SFT: the completion-token mean over
/// the whole set; DPO: the pair mean) and for DPO `eval_rewards/chosen`, `eval_rewards/rejected`,
/// `eval_rewards/accuracies`, `eval_rewards/margins`, `eval_logps/chosen`, `eval_logps/rejected`. Dropout is off and no
/// gradient is kept; the model's training mode is restored afterwards, and no random number is drawn, so a run with
/// evaluation trains exactly as one without.
/// </summary>
public static class Evaluation
{
    public const string Prefix = "eval_";

    public static IReadOnlyDictionary<string, double> Sft(CausalLanguageModel model, IReadOnlyList<SftExample> examples, int batchSize, int padId,
        CancellationToken cancellationToken = default)
    {
        double sum = 0, tokens = 0;
        using (Inference(model))
            foreach (var chunk in examples.Chunk(batchSize))
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = TrainingBatch.Sft(chunk, padId, model.Device);
                var (s, c) = SftLoss.SummedTokenLoss(model, batch.Ids, batch.Labels, batch.AttentionMask);
                sum += s.item<float>();
                tokens += c.item<float>();
            }
        return new Dictionary<string, double> { [Prefix + "loss"] = sum / Math.Max(1, tokens) };
    }

    public static IReadOnlyDictionary<string, double> Dpo(CausalLanguageModel model, IReadOnlyList<PreferenceExample> examples, int batchSize, int padId,
        double beta, DpoLossType loss = DpoLossType.Sigmoid, double labelSmoothing = 0, CancellationToken cancellationToken = default,
        CausalLanguageModel? referenceModel = null)
    {
        var sums = new Dictionary<string, double>();
        using (Inference(model))
            foreach (var chunk in examples.Chunk(batchSize))
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = TrainingBatch.Preferences(chunk, padId, model.Device);
                using var dpo = DpoLoss.ComputeSequences(model, batch.Ids, batch.Labels, batch.AttentionMask, beta, loss, labelSmoothing, referenceModel);
                foreach (var (key, value) in dpo.Metrics())
                    sums[Prefix + key] = sums.GetValueOrDefault(Prefix + key) + value * chunk.Length;
            }
        return sums.ToDictionary(kv => kv.Key, kv => kv.Value / examples.Count);
    }

    static IDisposable Inference(CausalLanguageModel model)
    {
        bool training = model.training;
        model.eval();
        var noGrad = no_grad();
        return new Undo(() =>
        {
            noGrad.Dispose();
            if (training) model.train();
        });
    }
}
