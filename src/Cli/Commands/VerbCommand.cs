using System.CommandLine;
using Ckpt.Verbs;

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

    /// <summary>Whether a flag the verb declares (such as the CLI-only `--json`) was given.</summary>
    public static bool Flag(IReadOnlyDictionary<string, IReadOnlyList<string>> given, string name) =>
        given.TryGetValue(name, out var v) && v.Count > 0 && v[^1] != "false";
}
