using Microsoft.DotNet.Interactive.Commands;

namespace Ckpt.Extension.Visualisation;

/// <summary>
/// The positional values of a magic, read from its submitted line. .NET Interactive's directive binder drops
/// a parameter given more than once (its DirectiveNode.GetParameters leaves that case as a FIX), so
/// `#!ckpt-diff a b` would bind neither value; the two magics with two positional values read them here.
/// </summary>
static class DirectivePositionals
{
    public static IReadOnlyList<string> Of(KernelCommand command, string directive, params string[] optionsWithValues)
    {
        for (var c = command.Parent; c is not null; c = c.Parent)
        {
            if (c is not SubmitCode submit) continue;
            var line = submit.Code.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(directive + " ", StringComparison.Ordinal));
            if (line is null) continue;
            var tokens = Tokens(line[directive.Length..]).ToList();
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
        return [];
    }

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
