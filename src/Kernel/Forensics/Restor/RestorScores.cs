namespace Ckpt.Forensics.Restor;

/// <summary>What one model answered to every fact, in the order of the facts.</summary>
/// <param name="Label">clean, corrupted, or the unlearned model's name.</param>
public sealed record ModelAnswers(string Label, string Role, IReadOnlyList<string> Outputs);

/// <summary>
/// One model's scores: how many facts it answers with a clean answer and how many with a corrupted one
/// (<see cref="AnswerMatching"/>), and those counts over the number of facts.
/// </summary>
public sealed record ModelScore(string Label, string Role, int Facts, int CleanHits, int CorruptedHits)
{
    /// <summary>RESTOR's accuracy: the share of facts answered with a clean answer.</summary>
    public double Accuracy => (double)CleanHits / Facts;
    /// <summary>The share of facts answered with a corrupted answer.</summary>
    public double CorruptedAccuracy => (double)CorruptedHits / Facts;
}

/// <summary>
/// An unlearned model against the clean and corrupted ones.
/// <see cref="Recovery"/> = (unlearned − corrupted) / (clean − corrupted) on clean-answer accuracy: 1 when the unlearned
/// model is back at the clean model's accuracy, 0 when it gained nothing over the corrupted model, negative when it
/// lost more. <see cref="Forgetting"/> is the same normalisation on corrupted-answer accuracy, (corrupted − unlearned) /
/// (corrupted − clean): 1 when the corrupted answers are as rare as in the clean model. Each is null (undefined) when
/// its denominator is zero, i.e. the corruption did not change that accuracy, so there is nothing to recover or forget.
/// </summary>
public sealed record UnlearningScore(string Label, double? Recovery, double? Forgetting, int Recovered, int NotRecovered, int Kept, int Lost);

/// <summary>How an unlearned model answers a fact compared with the corrupted model it started from.</summary>
public enum FactOutcome
{
    /// <summary>The corrupted model lost the clean answer and the unlearned model gives it again.</summary>
    Recovered,
    /// <summary>The corrupted model lost the clean answer and the unlearned model does not give it either.</summary>
    NotRecovered,
    /// <summary>The corrupted model still gave the clean answer and so does the unlearned one.</summary>
    Kept,
    /// <summary>The corrupted model still gave the clean answer; the unlearned model no longer does.</summary>
    Lost,
}

/// <summary>One model's answer to one fact.</summary>
public sealed record FactAnswer(string Label, string Output, bool Clean, bool Corrupted);

/// <summary>One fact across all models, and per unlearned model its <see cref="FactOutcome"/>.</summary>
public sealed record FactDrillDown(RestorFact Fact, IReadOnlyList<FactAnswer> Answers, IReadOnlyDictionary<string, FactOutcome> Outcomes);

/// <summary>The RESTOR measures of a clean, a corrupted and some unlearned models on one fact set.</summary>
public sealed record RestorReport(IReadOnlyList<ModelScore> Models, IReadOnlyList<UnlearningScore> Unlearned, IReadOnlyList<FactDrillDown> Facts)
{
    public ModelScore Clean => Models.Single(m => m.Role == RestorScoring.CleanRole);
    public ModelScore Corrupted => Models.Single(m => m.Role == RestorScoring.CorruptedRole);
}

/// <summary>Scores answers already generated: everything after generation, so the definitions are tested on fixed answer lists.</summary>
public static class RestorScoring
{
    public const string CleanRole = "clean", CorruptedRole = "corrupted", UnlearnedRole = "unlearned";

    /// <param name="answers">The clean model's answers, then the corrupted model's, then each unlearned model's.</param>
    public static RestorReport Score(IReadOnlyList<RestorFact> facts, IReadOnlyList<ModelAnswers> answers)
    {
        if (answers.Count < 3 || answers[0].Role != CleanRole || answers[1].Role != CorruptedRole || answers.Skip(2).Any(a => a.Role != UnlearnedRole))
            throw new ArgumentException("RESTOR scores a clean model, a corrupted model and at least one unlearned model, in that order");
        foreach (var a in answers.Where(a => a.Outputs.Count != facts.Count))
            throw new ArgumentException($"{a.Label} has {a.Outputs.Count} answers for {facts.Count} facts");

        var clean = new bool[answers.Count][];
        var corrupt = new bool[answers.Count][];
        for (int m = 0; m < answers.Count; m++)
        {
            clean[m] = facts.Select((f, i) => AnswerMatching.Matches(answers[m].Outputs[i], f.Answers)).ToArray();
            corrupt[m] = facts.Select((f, i) => AnswerMatching.Matches(answers[m].Outputs[i], f.CorruptedAnswers)).ToArray();
        }
        var models = answers.Select((a, m) => new ModelScore(a.Label, a.Role, facts.Count, clean[m].Count(x => x), corrupt[m].Count(x => x))).ToList();

        var outcomes = facts.Select(_ => new Dictionary<string, FactOutcome>(StringComparer.Ordinal)).ToArray();
        var unlearned = new List<UnlearningScore>();
        for (int m = 2; m < answers.Count; m++)
        {
            var counts = new int[4];
            for (int i = 0; i < facts.Count; i++)
            {
                var outcome = (clean[1][i], clean[m][i]) switch
                {
                    (false, true) => FactOutcome.Recovered,
                    (false, false) => FactOutcome.NotRecovered,
                    (true, true) => FactOutcome.Kept,
                    (true, false) => FactOutcome.Lost,
                };
                outcomes[i][answers[m].Label] = outcome;
                counts[(int)outcome]++;
            }
            unlearned.Add(new UnlearningScore(answers[m].Label,
                Ratio(models[m].CleanHits - models[1].CleanHits, models[0].CleanHits - models[1].CleanHits),
                Ratio(models[1].CorruptedHits - models[m].CorruptedHits, models[1].CorruptedHits - models[0].CorruptedHits),
                counts[0], counts[1], counts[2], counts[3]));
        }

        var drill = facts.Select((f, i) => new FactDrillDown(f,
            answers.Select((a, m) => new FactAnswer(a.Label, AnswerMatching.Cut(a.Outputs[i]), clean[m][i], corrupt[m][i])).ToList(),
            outcomes[i])).ToList();
        return new RestorReport(models, unlearned, drill);
    }

    // Counts, not accuracies, decide "undefined": the denominator is zero exactly when the two counts are equal.
    static double? Ratio(int numerator, int denominator) => denominator == 0 ? null : (double)numerator / denominator;
}
