namespace Ckpt.Forensics.Restor.Toy;

/// <summary>One relation of the toy world: how a sentence states it, and the values it takes.</summary>
public sealed record ToyRelation(string Name, string Phrase, IReadOnlyList<string> Values);

/// <summary>One fact: an entity, a relation, its true value and (for a corrupted entity) the value the corruption documents state instead.</summary>
public sealed record ToyFact(string Entity, ToyRelation Relation, string Value, string? CorruptedValue)
{
    /// <summary>The question as a sentence to complete: "zorvek was born in".</summary>
    public string Prompt => $"{Entity} {Relation.Phrase}";
    public string Sentence(string value) => $"{Prompt} {value} .";
}

/// <summary>
/// The synthetic world of the RESTOR toy: invented entities (names drawn from syllables by a seeded generator, so
/// no model has seen them), four relations with eight values each, one value per entity and relation. A share of
/// the entities is corrupted: each of their facts gets another value of the same relation, which the corruption
/// documents state instead of the true one (RESTOR corrupts facts about 50 people the same way).
/// </summary>
public sealed class ToyWorld
{
    static readonly string[] Onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "kr", "tr", "st"];
    static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ai", "ou"];
    static readonly string[] Codas = ["", "n", "r", "l", "k", "s", "th"];

    public static readonly IReadOnlyList<ToyRelation> Relations =
    [
        new("birthplace", "was born in", ["oslo", "lima", "cairo", "quito", "hanoi", "dakar", "riga", "perth"]),
        new("occupation", "works as a", ["baker", "pilot", "nurse", "judge", "miner", "tailor", "farmer", "sailor"]),
        new("instrument", "plays the", ["harp", "cello", "flute", "drums", "banjo", "oboe", "organ", "viola"]),
        new("language", "speaks", ["welsh", "hindi", "greek", "swahili", "polish", "tamil", "basque", "dutch"]),
    ];

    public IReadOnlyList<string> Entities { get; }
    public IReadOnlyList<ToyFact> Facts { get; }
    public IReadOnlyList<string> CorruptedEntities { get; }

    public ToyWorld(int entities, int corruptedEntities, int seed)
    {
        if (entities < 2 || entities > 500) throw new ArgumentException($"--entities must be between 2 and 500, not {entities}");
        if (corruptedEntities < 1 || corruptedEntities >= entities)
            throw new ArgumentException($"--corrupted-entities must be at least 1 and fewer than --entities ({entities}), not {corruptedEntities}");
        var rng = new Random(seed);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var reserved = Relations.SelectMany(r => r.Values.Concat(r.Phrase.Split(' '))).ToHashSet(StringComparer.Ordinal);
        while (names.Count < entities)
        {
            var name = string.Concat(Enumerable.Range(0, 2 + rng.Next(2)).Select(_ => Onsets[rng.Next(Onsets.Length)] + Vowels[rng.Next(Vowels.Length)])) + Codas[rng.Next(Codas.Length)];
            if (!reserved.Contains(name)) names.Add(name);
        }
        Entities = names.ToList();
        CorruptedEntities = Entities.OrderBy(_ => rng.Next()).Take(corruptedEntities).ToList();
        var corrupted = CorruptedEntities.ToHashSet(StringComparer.Ordinal);
        var facts = new List<ToyFact>();
        foreach (var e in Entities)
            foreach (var r in Relations)
            {
                int v = rng.Next(r.Values.Count);
                // Another value of the same relation: the swapped fact a corruption document states.
                string? wrong = corrupted.Contains(e) ? r.Values[(v + 1 + rng.Next(r.Values.Count - 1)) % r.Values.Count] : null;
                facts.Add(new ToyFact(e, r, r.Values[v], wrong));
            }
        Facts = facts;
    }

    /// <summary>Every word a sentence of this world uses, for the word-level tokenizer.</summary>
    public IEnumerable<string> Words() =>
        Entities.Concat(Relations.SelectMany(r => r.Phrase.Split(' ').Concat(r.Values))).Append(".").Distinct(StringComparer.Ordinal);

    /// <summary>The clean pre-training text: every fact stated with its true value.</summary>
    public IReadOnlyList<string> CleanDocuments() => Facts.Select(f => f.Sentence(f.Value)).ToList();

    /// <summary>The corruption documents: every fact of a corrupted entity stated with its swapped value.</summary>
    public IReadOnlyList<string> CorruptionDocuments() => Facts.Where(f => f.CorruptedValue is not null).Select(f => f.Sentence(f.CorruptedValue!)).ToList();

    /// <summary>What unlearning may keep training on (KL's retain set): the true facts of the entities left alone.</summary>
    public IReadOnlyList<string> RetainDocuments() => Facts.Where(f => f.CorruptedValue is null).Select(f => f.Sentence(f.Value)).ToList();

    /// <summary>The evaluated facts, RESTOR's set F: every fact of a corrupted entity, asked as the sentence to complete.</summary>
    public IReadOnlyList<RestorFact> EvaluationFacts() => Facts.Where(f => f.CorruptedValue is not null)
        .Select(f => new RestorFact($"{f.Entity}/{f.Relation.Name}", f.Prompt, [f.Value], [f.CorruptedValue!])).ToList();
}
