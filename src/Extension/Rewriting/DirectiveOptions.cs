using Ckpt.Extension.Visualisation;
using Microsoft.DotNet.Interactive.Commands;

namespace Ckpt.Extension.Rewriting;

/// <summary>
/// Every value of an option given several times (`--model a --model b`), read from the submitted line: .NET
/// Interactive's directive binder (1.0.0-beta.26120.1) keeps none of a repeated parameter's values; why no declaration
/// of the parameter helps is in <see cref="DirectivePositionals"/>.
/// </summary>
static class DirectiveOptions
{
    public static string[] Values(KernelCommand command, string directive, string option)
    {
        var tokens = DirectivePositionals.LineTokens(command, directive);
        var values = new List<string>();
        for (int i = 0; i + 1 < tokens.Count; i++)
            if (tokens[i] == option) values.Add(tokens[++i]);
        return values.ToArray();
    }
}
