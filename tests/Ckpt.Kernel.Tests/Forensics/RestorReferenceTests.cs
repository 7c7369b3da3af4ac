using System.Text.Json;
using Ckpt.Forensics.Restor;

namespace Ckpt.Tests.Forensics;

/// <summary>
/// The RESTOR measures against tests/python/restor_metrics_reference.py, an independent Python implementation of the
/// same definitions, on five seeded cases of 3 to 40 facts (undefined measures included): equal to 1e-15.
/// </summary>
public class RestorReferenceTests
{
    public static TheoryData<int> Cases() => new(Enumerable.Range(0, 5));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Accuracy_recovery_forgetting_and_outcomes_equal_the_python_reference(int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("restor/scoring_reference.json")));
        var c = doc.RootElement.GetProperty("cases")[index];
        var facts = c.GetProperty("facts").EnumerateArray().Select(f => new RestorFact(f.GetProperty("id").GetString()!, f.GetProperty("prompt").GetString()!,
            Strings(f.GetProperty("answers")), Strings(f.GetProperty("corruptedAnswers")))).ToList();
        var models = c.GetProperty("models").EnumerateArray().Select(m => new ModelAnswers(m.GetProperty("label").GetString()!, m.GetProperty("role").GetString()!,
            Strings(m.GetProperty("outputs")))).ToList();
        var report = RestorScoring.Score(facts, models);
        var expected = c.GetProperty("expected");

        Near(Doubles(expected.GetProperty("accuracy")), report.Models.Select(m => (double?)m.Accuracy));
        Near(Doubles(expected.GetProperty("corruptedAccuracy")), report.Models.Select(m => (double?)m.CorruptedAccuracy));
        var unlearned = expected.GetProperty("unlearned").EnumerateArray().ToList();
        Near(unlearned.Select(u => Double(u.GetProperty("recovery"))), report.Unlearned.Select(u => u.Recovery));
        Near(unlearned.Select(u => Double(u.GetProperty("forgetting"))), report.Unlearned.Select(u => u.Forgetting));
        foreach (var (u, j) in unlearned.Select((u, j) => (u, j)))
            Assert.Equal(Strings(u.GetProperty("outcomes")), report.Facts.Select(f => RestorJson.Name(f.Outcomes[report.Unlearned[j].Label])));
    }

    static string[] Strings(JsonElement a) => a.EnumerateArray().Select(e => e.GetString()!).ToArray();
    static IEnumerable<double?> Doubles(JsonElement a) => a.EnumerateArray().Select(Double);
    static double? Double(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetDouble();

    static void Near(IEnumerable<double?> expected, IEnumerable<double?> actual)
    {
        var e = expected.ToList();
        var a = actual.ToList();
        Assert.Equal(e.Count, a.Count);
        for (int i = 0; i < e.Count; i++)
        {
            Assert.Equal(e[i] is null, a[i] is null);
            if (e[i] is double x) Assert.True(Math.Abs(x - a[i]!.Value) <= 1e-15, $"[{i}] expected {x}, got {a[i]}");
        }
    }
}
