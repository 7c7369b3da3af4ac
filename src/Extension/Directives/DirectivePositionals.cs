using System.Reflection;

namespace Ckpt.Extension.Directives;

/// <summary>
/// The positional values of a magic, read from its submitted line, because .NET Interactive cannot bind a parameter
/// given more than once (checked against the pinned Microsoft.DotNet.Interactive 1.0.0-beta.26120.1, and proved by
/// DirectiveBindingTests in tests/Ckpt.Extension.Tests, which fail once an upgrade fixes it). A KernelActionDirective
/// binds by writing the parsed parameters as JSON and deserialising its KernelCommandType; the internal
/// DirectiveNode.GetParameterValues writes a parameter only when exactly one node matches it (its source marks the
/// several-nodes case "FIX: write array?"), so `#!ckpt-diff a b` (two implicit-name values) or `--model a --model b`
/// binds nothing whatever MaxOccurrences says, and a single value is written as a JSON string, which a string[]
/// property rejects (DNI106). Nothing public replaces that binding: KernelActionDirective has no binder to override,
/// and KernelDirectiveCommand.DirectiveNode, the parsed node a handler could read instead, is internal (only its
/// text is read, to find the command's own line: <see cref="LineTokens"/>). So a parameter
/// that can repeat is declared `string?` on its command (one value binds, two bind nothing, neither fails) and without
/// Required or a real MaxOccurrences (DNI104/DNI105 would fail the cell first), and its handler always counts the
/// values here and fails with its own sentence when the count is wrong. Options that take one value are counted for
/// every magic at once, before its handler: <see cref="SingleValueOptions"/>.
/// </summary>
static class DirectivePositionals
{
    public static IReadOnlyList<string> Of(KernelCommand command, string directive, params string[] optionsWithValues)
    {
        var tokens = LineTokens(command, directive);
        var positionals = new List<string>();
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].StartsWith("--", StringComparison.Ordinal))
            {
                if (optionsWithValues.Contains(tokens[i])) i++;
                continue;
            }
            positionals.Add(tokens[i]);
        }
        return positionals;
    }

    /// <summary>
    /// The tokens after the directive on the command's own line. That line is the text of the command's parsed
    /// DirectiveNode, read by reflection because the property is internal, so that a cell using one magic twice gives
    /// each its own line; should an upgrade rename it, the cell's first line starting with the directive stands in
    /// (DirectiveBindingTests then fails).
    /// </summary>
    internal static IReadOnlyList<string> LineTokens(KernelCommand command, string directive)
    {
        var line = NodeText(command) ?? FirstLine(command, directive);
        return line is not null && line.StartsWith(directive, StringComparison.Ordinal) ? Tokens(line[directive.Length..]).ToList() : [];
    }

    /// <summary>Whether the command came from a magic's line, rather than being sent as a typed command from code.</summary>
    internal static bool HasLine(KernelCommand command, string directive) => (NodeText(command) ?? FirstLine(command, directive)) is not null;

    static readonly PropertyInfo? DirectiveNodeProperty =
        typeof(KernelDirectiveCommand).GetProperty("DirectiveNode", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance);

    internal static string? NodeText(KernelCommand command) =>
        DirectiveNodeProperty?.GetValue(command) is { } node && node.GetType().GetProperty("Text")?.GetValue(node) is string text ? text.Trim() : null;

    static string? FirstLine(KernelCommand command, string directive)
    {
        for (var c = command.Parent; c is not null; c = c.Parent)
            if (c is SubmitCode submit &&
                submit.Code.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l == directive || l.StartsWith(directive + " ", StringComparison.Ordinal)) is { } line)
                return line;
        return null;
    }

    /// <summary>
    /// The value of a magic's one positional parameter. The binder fills it only when it is given once, and takes a
    /// value after a flag as the flag's, so the line is counted too: none or several fail with the magic's own sentence.
    /// </summary>
    public static string Single(KernelCommand command, string directive, string? bound, string noun, string usage, params string[] optionsWithValues)
    {
        int given = Given(command, directive, optionsWithValues);
        if (!string.IsNullOrWhiteSpace(bound) && given <= 1) return bound;
        throw new ArgumentException($"{directive} needs one {noun} and was given {Count(given)}: {usage}");
    }

    /// <summary>As <see cref="Single"/> for an optional parameter: null when none is given.</summary>
    public static string? AtMostOne(KernelCommand command, string directive, string? bound, string noun, string usage, params string[] optionsWithValues)
    {
        int given = Given(command, directive, optionsWithValues);
        if (given > 1) throw new ArgumentException($"{directive} takes at most one {noun} and was given {Count(given)}: {usage}");
        return string.IsNullOrWhiteSpace(bound) ? null : bound;
    }

    static int Given(KernelCommand command, string directive, string[] optionsWithValues) =>
        Of(command, directive, optionsWithValues).Count(v => !string.IsNullOrWhiteSpace(v));

    /// <summary>"no value", "one value", "3 values": how many positional values a magic was given, for its error sentence.</summary>
    public static string Count(int n) => n switch { 0 => "no value", 1 => "one value", _ => $"{n} values" };

    internal static IEnumerable<string> Tokens(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i >= text.Length) yield break;
            if (text[i] == '"')
            {
                int end = text.IndexOf('"', i + 1);
                if (end < 0) end = text.Length;
                yield return text[(i + 1)..end];
                i = end + 1;
            }
            else
            {
                int start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
                yield return text[start..i];
            }
        }
    }
}
