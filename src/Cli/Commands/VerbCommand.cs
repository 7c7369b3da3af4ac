using Ckpt.Charts;
using Ckpt.Outputs;

namespace Ckpt.Cli.Commands;

/// <summary>
/// The one adapter from a Kernel <see cref="Verb"/> to a System.CommandLine command: every option is declared from
/// its <see cref="VerbOption"/> and read back as raw text, which the verb's Kernel binding types and validates (so a
/// malformed number is refused with the same sentence as in the magic). Magic-only options are left out. A positional
/// option is taken with or without its name (`ckpt generate m` or `ckpt generate --model m`), as a magic takes it.
/// </summary>
static class VerbCommand
{
    public static Command Create(Verb verb, Func<IReadOnlyDictionary<string, IReadOnlyList<string>>, CancellationToken, Task<int>> run)
    {
        // `bench load` is the subcommand `load` of `bench`; the caller adds it there.
        var command = new Command(verb.Name.Split(' ')[^1], verb.Summary);
        var options = new List<(VerbOption Spec, Option Option)>();
        var arguments = new List<(VerbOption Spec, Argument Argument)>();
        foreach (var spec in verb.Options.Where(o => o.Surface != OptionSurface.MagicOnly))
        {
            if (spec.Positional)
            {
                // Required-ness is the Kernel binding's to check: the value may come by name instead (`--model m`).
                var argument = spec.Many
                    ? new Argument<string[]>(spec.PropertyName.ToLowerInvariant()) { Description = spec.Help, Arity = ArgumentArity.ZeroOrMore }
                    : (Argument)new Argument<string>(spec.PropertyName.ToLowerInvariant()) { Description = spec.Help, Arity = ArgumentArity.ZeroOrOne };
                command.Arguments.Add(argument);
                arguments.Add((spec, argument));
            }
            Option option = spec switch
            {
                { Flag: true } => new Option<bool>(spec.Name) { Description = spec.Help },
                { Many: true } => new Option<string[]>(spec.Name) { Description = spec.Help, AllowMultipleArgumentsPerToken = true, Required = spec.Required && !spec.Positional },
                { Default: { } d } => new Option<string>(spec.Name) { Description = spec.Help, DefaultValueFactory = _ => d },
                _ => new Option<string>(spec.Name) { Description = spec.Help, Required = spec.Required && !spec.Positional },
            };
            if (spec.Choices is { } choices) Offer(option, choices);
            command.Options.Add(option);
            options.Add((spec, option));
        }
        command.SetAction((parse, cancellationToken) =>
        {
            var given = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var (spec, argument) in arguments)
            {
                var values = argument switch
                {
                    Argument<string[]> many => parse.GetValue(many) ?? [],
                    Argument<string> one when parse.GetValue(one) is { } value => [value],
                    _ => Array.Empty<string>(),
                };
                if (values.Length > 0) given[spec.Name] = [.. values];
            }
            foreach (var (spec, option) in options)
            {
                // Only what the user typed: a default is applied once, by the Kernel binding.
                if (parse.GetResult(option) is not { Implicit: false } result) continue;
                var values = spec.Flag
                    ? [parse.GetValue((Option<bool>)option) ? "true" : "false"]
                    : result.Tokens.Select(t => t.Value).ToList();
                if (given.TryGetValue(spec.Name, out var positional)) positional.AddRange(values);
                else given[spec.Name] = values;
            }
            return run(given.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal), cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// A named-choice option's accepted names (<see cref="VerbOption.Choices"/>) as its completions, which the
    /// `[suggest]` directive (dotnet-suggest) offers, and as its help label in their declared order, the refusal
    /// sentence's: `--recipe <sft|dpo|ga|kl|npo>` (System.CommandLine's own label would sort them). The parser still
    /// takes any text, so an extra spelling (`--to hf`) is accepted and any other value is refused by the Kernel
    /// binding with its one sentence and exit code 2, as in the magic.
    /// </summary>
    static void Offer(Option option, IReadOnlyList<string> choices)
    {
        option.HelpName = string.Join("|", choices);
        option.CompletionSources.Add(choices.ToArray());
    }

    /// <summary>
    /// The shape most commands share: the verb's Kernel binding makes the request, <paramref name="run"/> makes the one
    /// Kernel call and writes either the `--json` answer (its second argument) or the human text, and the exit code is 0.
    /// A failure is reported by Program (<see cref="Failure"/>).
    /// </summary>
    public static Command Create<TRequest>(Verb verb, Func<IReadOnlyDictionary<string, IReadOnlyList<string>>, TRequest> bind,
        Action<TRequest, bool, CancellationToken> run) => Create(verb, (given, cancellationToken) =>
    {
        run(bind(given), Flag(given, "--json"), cancellationToken);
        return Task.FromResult(0);
    });

    /// <summary>
    /// A chart command's answer (layout, diff): the offline HTML report when `--html` names one, then the chart's JSON
    /// input for `--json`, or else the human text and where the report went.
    /// </summary>
    public static void ChartAnswer(TextWriter stdout, bool asJson, string? html, string kind, JsonObject input, string title, Action writeHuman)
    {
        if (html is not null) OutputFile.WriteAllText(html, ChartRenderer.Document(kind, input.ToJsonString(), title));
        if (asJson) stdout.WriteLine(VerbJson.Serialize(input));
        else
        {
            writeHuman();
            if (html is not null) stdout.WriteLine($"wrote {html}");
        }
    }

    /// <summary>Whether a flag the verb declares (such as the CLI-only `--json`) was given.</summary>
    public static bool Flag(IReadOnlyDictionary<string, IReadOnlyList<string>> given, string name) =>
        given.TryGetValue(name, out var v) && v.Count > 0 && v[^1] != "false";
}
