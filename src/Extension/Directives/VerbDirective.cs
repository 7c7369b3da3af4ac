using System.Reflection;
using Ckpt.Verbs;
using Microsoft.DotNet.Interactive.Directives;

namespace Ckpt.Extension.Directives;

/// <summary>
/// The one adapter from a Kernel <see cref="Verb"/> to a magic: its parameters are declared from the verb's options
/// (CLI-only ones left out) and its values are read from the command's own line as raw text, which the verb's Kernel
/// binding types and validates as it does for the CLI. The line is read rather than the command's bound properties
/// because .NET Interactive binds no value of an option given twice (<see cref="DirectivePositionals"/>), so a
/// magic's command type carries no copy of the options and their defaults.
/// </summary>
static class VerbDirective
{
    /// <summary>The verb's directive, described by <see cref="Verb.MagicSummary"/>, else by the <see cref="Verb.Summary"/> the command shows.</summary>
    public static KernelActionDirective Create(Verb verb)
    {
        var directive = new KernelActionDirective(verb.Magic ?? throw new ArgumentException($"{verb.Name} has no magic"), verb.MagicSummary ?? verb.Summary);
        foreach (var o in verb.Options.Where(o => o.Surface != OptionSurface.CliOnly))
        {
            int occurrences = o.Many || o.Positional ? int.MaxValue : 1;
            // TypeHint is init-only and its unset value is the library's own, so it is set only for paths.
            var parameter = o.Kind == OptionKind.Path
                ? new KernelDirectiveParameter(o.Name, o.HelpWithDefault) { Required = o.Required && !o.Positional, AllowImplicitName = o.Positional, MaxOccurrences = occurrences, TypeHint = "file" }
                : new KernelDirectiveParameter(o.Name, o.HelpWithDefault) { Flag = o.Flag, Required = o.Required && !o.Positional, AllowImplicitName = o.Positional, MaxOccurrences = occurrences };
            // A named-choice option's accepted names are the editor's completions for its value (`--recipe ` offers
            // sft, dpo, ...); any other text still reaches the Kernel binding, which refuses it with its one sentence.
            if (o.Choices is { } choices) parameter.AddCompletions(() => choices);
            directive.Parameters.Add(parameter);
        }
        return directive;
    }

    /// <summary>Each option's values as the command's line gives them (a flag as "true"), positional values under the
    /// verb's positional option; magic-only options such as `--name` are read by the handler with <see cref="Text"/>.</summary>
    public static Dictionary<string, IReadOnlyList<string>> Values(Verb verb, KernelCommand command)
    {
        var magic = verb.Magic!;
        if (!DirectivePositionals.HasLine(command, magic)) return FromProperties(verb, command);
        var tokens = DirectivePositionals.LineTokens(command, magic);
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var positional = verb.Options.FirstOrDefault(o => o.Positional);
        for (int i = 0; i < tokens.Count; i++)
        {
            var option = verb.Options.FirstOrDefault(o => o.Name == tokens[i] && o.Surface != OptionSurface.CliOnly);
            string name;
            string value;
            if (option is null)
            {
                if (positional is null) continue; // .NET Interactive has refused an unknown option before the handler
                (name, value) = (positional.Name, tokens[i]);
            }
            else if (option.Flag) (name, value) = (option.Name, "true");
            else if (i + 1 < tokens.Count) (name, value) = (option.Name, tokens[++i]);
            else continue;
            if (!values.TryGetValue(name, out var list)) values[name] = list = [];
            list.Add(value);
        }
        return values.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal);
    }

    /// <summary>A command sent from code (`kernel.SendAsync(new ShowLayout { Checkpoint = "..." })`) has no line: its
    /// values are its public properties named as the options are (`--max-new-tokens`: MaxNewTokens), in the text a line would give.</summary>
    static Dictionary<string, IReadOnlyList<string>> FromProperties(Verb verb, KernelCommand command)
    {
        var values = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var o in verb.Options.Where(o => o.Surface != OptionSurface.CliOnly))
        {
            var property = command.GetType().GetProperty(o.PropertyName, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            switch (property?.GetValue(command))
            {
                case bool flag when flag: values[o.Name] = ["true"]; break;
                case string text when text.Length > 0: values[o.Name] = [text]; break;
                case IEnumerable<string> many: values[o.Name] = many.ToArray(); break;
                case IFormattable number: values[o.Name] = [number.ToString(null, CultureInfo.InvariantCulture)]; break;
            }
        }
        return values;
    }

    /// <summary>The verb's positional values: one (none or one where it is optional), at least one where it takes
    /// several, exactly as many as it says where the count is fixed; otherwise the magic's own sentence and usage line
    /// (.NET Interactive would bind none of several, or take a value after a flag as the flag's).</summary>
    public static IReadOnlyList<string> Positional(Verb verb, IReadOnlyDictionary<string, IReadOnlyList<string>> values)
    {
        var option = verb.Options.Single(o => o.Positional);
        var given = values.TryGetValue(option.Name, out var v) ? v.Where(x => !string.IsNullOrWhiteSpace(x)).ToList() : [];
        var count = VerbValues.CountOf(given.Count);
        if (!option.Required && !option.Many)
            return given.Count <= 1 ? given : throw new ArgumentException($"{verb.Magic} takes at most one {option.Noun} and was given {count}: {verb.MagicUsage}");
        if (option.Exactly is int n ? given.Count == n : given.Count == 1 || (option.Many && given.Count > 1)) return given;
        var needs = option.Many ? option.Noun : $"one {option.Noun}";
        throw new ArgumentException($"{verb.Magic} needs {needs} and was given {count}: {verb.MagicUsage}");
    }

    /// <summary>The last value of <paramref name="name"/>, or null: for a magic-only option the Kernel does not bind.</summary>
    public static string? Text(IReadOnlyDictionary<string, IReadOnlyList<string>> values, string name) =>
        values.TryGetValue(name, out var v) && v.Count > 0 ? v[^1] : null;

}
