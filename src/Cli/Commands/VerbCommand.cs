using System.CommandLine;
using Ckpt.Verbs;

namespace Ckpt.Cli.Commands;

/// <summary>
/// The one adapter from a Kernel <see cref="Verb"/> to a System.CommandLine command: every option is declared from
/// its <see cref="VerbOption"/> and read back as raw text, which the verb's Kernel binding types and validates (so a
/// malformed number is refused with the same sentence as in the magic). Magic-only options are left out.
/// </summary>
static class VerbCommand
{
    public static Command Create(Verb verb, Func<IReadOnlyDictionary<string, IReadOnlyList<string>>, CancellationToken, Task<int>> run)
    {
        var command = new Command(verb.Name, verb.Summary);
        var options = new List<(VerbOption Spec, Option Option)>();
        foreach (var spec in verb.Options.Where(o => o.Surface != OptionSurface.MagicOnly))
        {
            if (spec.Positional)
            {
                var argument = spec.Many
                    ? new Argument<string[]>(spec.PropertyName.ToLowerInvariant()) { Description = spec.Help, Arity = spec.Required ? ArgumentArity.OneOrMore : ArgumentArity.ZeroOrMore }
                    : (Argument)new Argument<string>(spec.PropertyName.ToLowerInvariant()) { Description = spec.Help, Arity = spec.Required ? ArgumentArity.ExactlyOne : ArgumentArity.ZeroOrOne };
                command.Arguments.Add(argument);
                continue;
            }
            Option option = spec switch
            {
                { Flag: true } => new Option<bool>(spec.Name) { Description = spec.Help },
                { Many: true } => new Option<string[]>(spec.Name) { Description = spec.Help, AllowMultipleArgumentsPerToken = true, Required = spec.Required },
                { Default: { } d } => new Option<string>(spec.Name) { Description = spec.Help, DefaultValueFactory = _ => d },
                _ => new Option<string>(spec.Name) { Description = spec.Help, Required = spec.Required },
            };
            command.Options.Add(option);
            options.Add((spec, option));
        }
        command.SetAction((parse, cancellationToken) =>
        {
            var given = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var argument in command.Arguments)
            {
                var spec = verb.Options.First(o => o.Positional && o.PropertyName.ToLowerInvariant() == argument.Name);
                var values = argument switch
                {
                    Argument<string[]> many => parse.GetValue(many) ?? [],
                    Argument<string> one when parse.GetValue(one) is { } value => [value],
                    _ => Array.Empty<string>(),
                };
                if (values.Length > 0) given[spec.Name] = values;
            }
            foreach (var (spec, option) in options)
            {
                // Only what the user typed: a default is applied once, by the Kernel binding.
                if (parse.GetResult(option) is not { Implicit: false } result) continue;
                given[spec.Name] = spec.Flag
                    ? [parse.GetValue((Option<bool>)option) ? "true" : "false"]
                    : result.Tokens.Select(t => t.Value).ToArray();
            }
            return run(given, cancellationToken);
        });
        return command;
    }

    /// <summary>Whether a flag the verb declares (such as the CLI-only `--json`) was given.</summary>
    public static bool Flag(IReadOnlyDictionary<string, IReadOnlyList<string>> given, string name) =>
        given.TryGetValue(name, out var v) && v.Count > 0 && v[^1] != "false";
}
