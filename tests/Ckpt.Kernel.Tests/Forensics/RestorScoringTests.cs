using Ckpt.Forensics.Restor;

namespace Ckpt.Tests.Forensics;

/// <summary>
/// The RESTOR measures on fixed answer lists, each number worked out by hand in the comments: five facts, a clean
/// model that knows four, a corrupted model that gives four corrupted answers, and two unlearned models (one that
/// forgets without recovering, as the paper finds for GA and KL, and one that recovers most facts, as for NPO).
/// </summary>
public class RestorScoringTests
{
    static readonly RestorFact[] Facts =
    [
        new("f1", "capital of A is", ["Paris"], ["Rome"]),
        new("f2", "colour of B is", ["blue"], ["green"]),
        new("f3", "game of C is", ["chess", "go"], ["tennis"]),
        new("f4", "job of D is", ["doctor"], ["pilot"]),
        new("f5", "city of E is", ["Oslo"], ["Lima"]),
    ];

    // clean: f1 ✓ (cut at the newline), f2 ✓, f3 ✓ (second acceptable answer, article and punctuation dropped), f4 ✗, f5 ✓ → 4 clean, 0 corrupted.
    static readonly ModelAnswers Clean = new("clean", "clean", ["Paris.\nRome", " blue", "the Go, a game", "nurse", "Oslo"]);
    // corrupted: f3 still clean; f1, f2, f4, f5 corrupted → 1 clean, 4 corrupted.
    static readonly ModelAnswers Corrupted = new("corrupted", "corrupted", ["Rome", "green", "chess", "pilot", "Lima"]);
    // forgets: f3 kept; "\npilot" is empty once cut; "Limassol" is not "Lima" → 1 clean, 0 corrupted.
    static readonly ModelAnswers Forgets = new("ga", "unlearned", ["the", "", "chess", "\npilot", "Limassol"]);
    // recovers: f1, f2 ("blue sky" begins with "blue"), f4 → 3 clean; f3 "tennis" corrupted → 1 corrupted; f5 "Rome" neither.
    static readonly ModelAnswers Recovers = new("npo", "unlearned", ["Paris", "blue sky", "tennis", "doctor", "Rome"]);

    static RestorReport Report() => RestorScoring.Score(Facts, [Clean, Corrupted, Forgets, Recovers]);

    [Fact]
    public void Accuracy_is_the_share_of_facts_answered_with_a_clean_answer_and_likewise_for_corrupted_answers()
    {
        var m = Report().Models;
        Assert.Equal([4, 1, 1, 3], m.Select(x => x.CleanHits));
        Assert.Equal([0, 4, 0, 1], m.Select(x => x.CorruptedHits));
        Assert.Equal([0.8, 0.2, 0.2, 0.6], m.Select(x => x.Accuracy));
        Assert.Equal([0.0, 0.8, 0.0, 0.2], m.Select(x => x.CorruptedAccuracy));
    }

    [Fact]
    public void Recovery_is_unlearned_minus_corrupted_over_clean_minus_corrupted_on_accuracy()
    {
        var u = Report().Unlearned;
        // (0.2 − 0.2) / (0.8 − 0.2) = 0 and (0.6 − 0.2) / (0.8 − 0.2) = 2/3.
        Assert.Equal(0.0, u[0].Recovery);
        Assert.Equal(2.0 / 3.0, u[1].Recovery!.Value, 15);
    }

    [Fact]
    public void Forgetting_is_the_same_normalisation_on_corrupted_answers()
    {
        var u = Report().Unlearned;
        // (0.8 − 0) / (0.8 − 0) = 1 and (0.8 − 0.2) / (0.8 − 0) = 0.75.
        Assert.Equal(1.0, u[0].Forgetting);
        Assert.Equal(0.75, u[1].Forgetting);
    }

    [Fact]
    public void Each_fact_says_whether_it_came_back_stayed_lost_survived_or_was_lost_by_unlearning()
    {
        var r = Report();
        Assert.Equal([FactOutcome.NotRecovered, FactOutcome.NotRecovered, FactOutcome.Kept, FactOutcome.NotRecovered, FactOutcome.NotRecovered],
            r.Facts.Select(f => f.Outcomes["ga"]));
        Assert.Equal([FactOutcome.Recovered, FactOutcome.Recovered, FactOutcome.Lost, FactOutcome.Recovered, FactOutcome.NotRecovered],
            r.Facts.Select(f => f.Outcomes["npo"]));
        Assert.Equal((0, 4, 1, 0), (r.Unlearned[0].Recovered, r.Unlearned[0].NotRecovered, r.Unlearned[0].Kept, r.Unlearned[0].Lost));
        Assert.Equal((3, 1, 0, 1), (r.Unlearned[1].Recovered, r.Unlearned[1].NotRecovered, r.Unlearned[1].Kept, r.Unlearned[1].Lost));
        // The drill-down keeps each answer as the judge saw it: cut at its first newline.
        var f1 = r.Facts[0].Answers;
        Assert.Equal(("Paris.", true, false), (f1[0].Output, f1[0].Clean, f1[0].Corrupted));
        Assert.Equal(("Rome", false, true), (f1[1].Output, f1[1].Clean, f1[1].Corrupted));
        Assert.Equal("", r.Facts[3].Answers[2].Output);
    }

    [Fact]
    public void Recovery_is_negative_when_unlearning_loses_facts_the_corruption_had_left()
    {
        var worse = new ModelAnswers("worse", "unlearned", ["x", "x", "x", "x", "x"]);
        var u = RestorScoring.Score(Facts, [Clean, Corrupted, worse]).Unlearned.Single();
        // (0 − 0.2) / (0.8 − 0.2) = −1/3; (0.8 − 0) / (0.8 − 0) = 1.
        Assert.Equal(-1.0 / 3.0, u.Recovery!.Value, 15);
        Assert.Equal(1.0, u.Forgetting);
        Assert.Equal(1, u.Lost);
    }

    [Fact]
    public void Recovery_and_forgetting_are_undefined_not_a_division_by_zero_when_the_corruption_changed_nothing()
    {
        // The corrupted model answers exactly as the clean one: clean − corrupted is 0 on both accuracies.
        var sameAsClean = Clean with { Label = "corrupted", Role = "corrupted" };
        var u = RestorScoring.Score(Facts, [Clean, sameAsClean, Recovers]).Unlearned.Single();
        Assert.Null(u.Recovery);
        Assert.Null(u.Forgetting);
        var json = RestorJson.From(RestorScoring.Score(Facts, [Clean, sameAsClean, Recovers]));
        Assert.Null(json["unlearned"]![0]!["recovery"]);
        Assert.Contains("\"recovery\":null", json.ToJsonString());
    }

    [Fact]
    public void Only_the_undefined_measure_is_null_when_one_accuracy_moved_and_the_other_did_not()
    {
        // Same clean-answer count (1 vs 1 would not do: the clean model is the reference), different corrupted count.
        var clean = new ModelAnswers("clean", "clean", ["Paris", "x", "x", "x", "x"]);
        var corrupted = new ModelAnswers("corrupted", "corrupted", ["x", "green", "chess", "x", "x"]);
        var unlearned = new ModelAnswers("u", "unlearned", ["Paris", "x", "x", "x", "x"]);
        var u = RestorScoring.Score(Facts, [clean, corrupted, unlearned]).Unlearned.Single();
        // clean hits: 1, 1 (f3 chess), 1 → recovery 0 / 0 undefined; corrupted hits: 0, 1, 0 → forgetting (1 − 0) / (1 − 0) = 1.
        Assert.Null(u.Recovery);
        Assert.Equal(1.0, u.Forgetting);
    }

    [Fact]
    public void The_json_report_uses_camel_case_keys()
    {
        var json = RestorJson.From(Report()).ToJsonString();
        foreach (var key in new[] { "\"corruptedAccuracy\":", "\"cleanHits\":", "\"notRecovered\":", "\"factResults\":", "\"corruptedAnswers\":", "\"outcomes\":{\"ga\":\"notRecovered\",\"npo\":\"recovered\"}" })
            Assert.Contains(key, json);
    }

    [Fact]
    public void Models_out_of_order_or_answer_lists_of_the_wrong_length_are_refused()
    {
        Assert.Throws<ArgumentException>(() => RestorScoring.Score(Facts, [Corrupted, Clean, Forgets]));
        Assert.Throws<ArgumentException>(() => RestorScoring.Score(Facts, [Clean, Corrupted]));
        var e = Assert.Throws<ArgumentException>(() => RestorScoring.Score(Facts, [Clean, Corrupted, Forgets with { Outputs = ["a"] }]));
        Assert.Equal("ga has 1 answers for 5 facts", e.Message);
    }
}
