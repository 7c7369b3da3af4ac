using Ckpt.Formats.Text;

namespace Ckpt.Forensics.Restor;

/// <summary>
/// One fact of a RESTOR evaluation: the prompt that asks for it, the answers the clean model should give and the
/// answers the corruption documents taught instead. Each list holds every acceptable wording (RESTOR's facts list
/// several values for a relation, and its judge accepts any of them).
/// </summary>
public sealed record RestorFact(string Id, string Prompt, IReadOnlyList<string> Answers, IReadOnlyList<string> CorruptedAnswers);

/// <summary>
/// Reads facts.jsonl (docs/restor.md): one JSON object a line, `{"id", "prompt", "answers", "corruptedAnswers"}`,
/// each answer list a string or an array of strings. Refused in one sentence naming the file and line: a missing or
/// empty prompt, an answer that normalises to nothing (<see cref="AnswerMatching"/>), an answer listed as both clean
/// and corrupted (the fact could not tell recovery from corruption), a repeated id, and a file with no facts.
/// </summary>
public static class RestorFacts
{
    public static IReadOnlyList<RestorFact> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"facts file {path} does not exist", path);
        var facts = new List<RestorFact>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        int line = 0;
        foreach (var text in RegularFile.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonElement o;
            try
            {
                using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = JsonLimits.MaxDepth });
                o = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw Bad(path, line, $"not valid JSON ({e.Message.Split('.')[0]})");
            }
            if (o.ValueKind != JsonValueKind.Object) throw Bad(path, line, "a fact is a JSON object {\"prompt\", \"answers\", \"corruptedAnswers\"}");
            var prompt = o.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
            if (prompt.Length == 0) throw Bad(path, line, "\"prompt\" must be a non-empty string");
            var answers = Answers(o, "answers", path, line);
            var corrupted = Answers(o, "corruptedAnswers", path, line);
            var both = answers.Select(AnswerMatching.Normalize).Intersect(corrupted.Select(AnswerMatching.Normalize)).FirstOrDefault();
            if (both is not null) throw Bad(path, line, $"'{both}' is both a clean and a corrupted answer");
            var id = o.TryGetProperty("id", out var i) ? i.ValueKind switch
            {
                JsonValueKind.String => i.GetString()!,
                JsonValueKind.Number => i.GetRawText(),
                _ => throw Bad(path, line, "\"id\" must be a string or a number"),
            } : line.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!ids.Add(id)) throw Bad(path, line, $"id '{id}' is used by an earlier fact");
            facts.Add(new RestorFact(id, prompt, answers, corrupted));
        }
        if (facts.Count == 0) throw new FormatException($"{Path.GetFileName(path)}: no facts (one JSON object a line: prompt, answers, corruptedAnswers)");
        return facts;
    }

    static string[] Answers(JsonElement o, string key, string path, int line)
    {
        if (!o.TryGetProperty(key, out var v)) throw Bad(path, line, $"\"{key}\" is missing");
        string[] values = v.ValueKind switch
        {
            JsonValueKind.String => [v.GetString()!],
            JsonValueKind.Array when v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => v.EnumerateArray().Select(e => e.GetString()!).ToArray(),
            _ => throw Bad(path, line, $"\"{key}\" must be a string or an array of strings"),
        };
        if (values.Length == 0) throw Bad(path, line, $"\"{key}\" is empty");
        foreach (var a in values)
            if (AnswerMatching.Normalize(a).Length == 0) throw Bad(path, line, $"the answer '{a}' in \"{key}\" has no letter or digit to match");
        return values;
    }

    static FormatException Bad(string path, int line, string detail) => new($"{Path.GetFileName(path)} line {line}: {detail}");
}
