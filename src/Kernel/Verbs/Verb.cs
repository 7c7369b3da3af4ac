namespace Ckpt.Verbs;

/// <summary>
/// A verb as both surfaces offer it: `ckpt <see cref="Name"/>` and <see cref="Magic"/> (null where the verb has no
/// magic) take exactly <see cref="Options"/>, minus the surface-only ones each marks (<see cref="OptionSurface"/>).
/// </summary>
public sealed record Verb(string Name, string? Magic, string Summary, IReadOnlyList<VerbOption> Options)
{
    /// <summary>The magic's one-line synopsis, quoted when its positional value is missing or given twice.</summary>
    public string? MagicUsage { get; init; }

    /// <summary>The magic's description where it says more than <see cref="Summary"/> for a notebook (a live chart, the
    /// stop button, the C# variable it binds); null where the magic is described by <see cref="Summary"/>, as the command is.</summary>
    public string? MagicSummary { get; init; }

    /// <summary>False for a verb only a notebook offers (a chart of a C# variable): there is no `ckpt` command. A
    /// <see cref="Name"/> of two words (`bench load`) is a subcommand of the first.</summary>
    public bool HasCommand { get; init; } = true;

    /// <summary>Why the verb has one surface only, where it has no <see cref="Magic"/> or no command; the surface parity
    /// test requires it, so a missing surface is a decision written down rather than an omission.</summary>
    public string? OneSurfaceReason { get; init; }

    /// <summary>The request type whose properties declare the verb's options (<see cref="OptionAttribute"/>), where
    /// the verb was made by <see cref="Of{TRequest}"/>; its other options are read by the surfaces or the verb itself.</summary>
    public Type? Request { get; init; }

    /// <summary>A verb whose options are <typeparamref name="TRequest"/>'s (<see cref="RequestOptions{TRequest}"/>), in
    /// their declaration order, then <paramref name="more"/>: those no request property holds (`--json`, `--name`).</summary>
    public static Verb Of<TRequest>(string name, string? magic, string summary, IReadOnlyList<VerbOption> more,
        string? magicUsage = null, string? magicSummary = null) =>
        new(name, magic, summary, [.. RequestOptions<TRequest>.Options, .. more]) { Request = typeof(TRequest), MagicUsage = magicUsage, MagicSummary = magicSummary };

    /// <summary>Reads <paramref name="given"/> as <see cref="Read"/> does and fills a <typeparamref name="TRequest"/> from it.</summary>
    /// <exception cref="ArgumentException">An unknown, repeated, missing or malformed value; the message names the option.</exception>
    public TRequest Bind<TRequest>(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => RequestOptions<TRequest>.Bind(Read(given));

    public VerbOption this[string name] =>
        Options.FirstOrDefault(o => o.Name == name) ?? throw new ArgumentException($"{Name} has no option {name}");

    /// <summary>Reads <paramref name="given"/> (each option's raw values, keyed by name with dashes) against the options.</summary>
    /// <exception cref="ArgumentException">An unknown option, one given too often, or a required one missing.</exception>
    public VerbValues Read(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => new(this, given);
}
