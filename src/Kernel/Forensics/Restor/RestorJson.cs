using System.Text.Json.Nodes;

namespace Ckpt.Forensics.Restor;

/// <summary>
/// A <see cref="RestorReport"/> as JSON with camelCase keys: what `ckpt restor --json` prints and what the chart
/// renderer (Ckpt.Charts, kind "restor") draws. An undefined recovery or forgetting is null.
/// </summary>
public static class RestorJson
{
    public static JsonObject From(RestorReport report, bool includeFacts = true)
    {
        var o = new JsonObject
        {
            ["facts"] = report.Facts.Count,
            ["models"] = new JsonArray(report.Models.Select(m => (JsonNode)new JsonObject
            {
                ["label"] = m.Label,
                ["role"] = m.Role,
                ["cleanHits"] = m.CleanHits,
                ["corruptedHits"] = m.CorruptedHits,
                ["accuracy"] = m.Accuracy,
                ["corruptedAccuracy"] = m.CorruptedAccuracy,
            }).ToArray()),
            ["unlearned"] = new JsonArray(report.Unlearned.Select(u => (JsonNode)new JsonObject
            {
                ["label"] = u.Label,
                ["recovery"] = u.Recovery,
                ["forgetting"] = u.Forgetting,
                ["recovered"] = u.Recovered,
                ["notRecovered"] = u.NotRecovered,
                ["kept"] = u.Kept,
                ["lost"] = u.Lost,
            }).ToArray()),
        };
        if (!includeFacts) return o;
        o["factResults"] = new JsonArray(report.Facts.Select(f => (JsonNode)new JsonObject
        {
            ["id"] = f.Fact.Id,
            ["prompt"] = f.Fact.Prompt,
            ["answers"] = new JsonArray(f.Fact.Answers.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
            ["corruptedAnswers"] = new JsonArray(f.Fact.CorruptedAnswers.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
            ["outputs"] = new JsonArray(f.Answers.Select(a => (JsonNode)new JsonObject
            {
                ["label"] = a.Label,
                ["output"] = a.Output,
                ["clean"] = a.Clean,
                ["corrupted"] = a.Corrupted,
            }).ToArray()),
            ["outcomes"] = new JsonObject(f.Outcomes.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(Name(kv.Value))))),
        }).ToArray());
        return o;
    }

    /// <summary>recovered, notRecovered, kept, lost.</summary>
    public static string Name(FactOutcome outcome) => outcome switch
    {
        FactOutcome.Recovered => "recovered",
        FactOutcome.NotRecovered => "notRecovered",
        FactOutcome.Kept => "kept",
        _ => "lost",
    };
}
