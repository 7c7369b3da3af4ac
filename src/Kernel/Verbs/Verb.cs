namespace Ckpt.Verbs;

/// <summary>
/// A verb as both surfaces offer it: `ckpt <see cref="Name"/>` and <see cref="Magic"/> (null where the verb has no
/// magic) take exactly <see cref="Options"/>, minus the surface-only ones each marks (<see cref="OptionSurface"/>).
/// </summary>
public sealed record Verb(string Name, string? Magic, string Summary, IReadOnlyList<VerbOption> Options)
{
    /// <summary>The magic's one-line synopsis, quoted when its positional value is missing or given twice.</summary>
    public string? MagicUsage { get; init; }

    public VerbOption this[string name] =>
        Options.FirstOrDefault(o => o.Name == name) ?? throw new ArgumentException($"{Name} has no option {name}");

    /// <summary>Reads <paramref name="given"/> (each option's raw values, keyed by name with dashes) against the options.</summary>
    /// <exception cref="ArgumentException">An unknown option, one given too often, or a required one missing.</exception>
    public VerbValues Read(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => new(this, given);
}
