using Microsoft.DotNet.Interactive.Directives;

namespace Ckpt.Extension;

/// <summary>
/// How every ckpt magic is registered, so that an option declared with one value (the default MaxOccurrences of 1)
/// and given more than once fails the cell with our own sentence instead of .NET Interactive's DNI105: each such
/// option is re-declared repeatable before registration (so the parser lets the line through; the binder then binds
/// none of its values, see <see cref="DirectivePositionals"/>), and the handler runs only once the command's own line
/// gives each of them at most once. Options declared repeatable on purpose (positional values, `#!ckpt-merge --model`)
/// are left to their handlers. The directive is declared afresh rather than edited because MaxOccurrences is init-only
/// and, in the pinned 1.0.0-beta.26120.1, Parameters.Clear() leaves the names indexed (re-adding one then throws).
/// </summary>
static class SingleValueOptions
{
    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlySet<string>> Declared = new(StringComparer.Ordinal);

    /// <summary>The options <paramref name="magic"/> declared with one value, which its registered directive no longer
    /// shows (they are re-declared repeatable); the surface parity test compares them with the CLI's.</summary>
    internal static IReadOnlySet<string> OnceOptions(string magic) => Declared.TryGetValue(magic, out var names) ? names : new HashSet<string>();

    public static void AddMagic<T>(this Kernel kernel, KernelActionDirective directive, Func<T, KernelInvocationContext, Task> handler)
        where T : KernelDirectiveCommand
    {
        var onceNames = directive.Parameters.Where(p => p.MaxOccurrences == 1).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        Declared[directive.Name] = onceNames;
        if (directive.Subcommands.Count > 0) throw new NotSupportedException($"{directive.Name}: subcommands are not re-declared");
        var declaredAsRepeatable = new KernelActionDirective(directive.Name, directive.Description) { Hidden = directive.Hidden };
        foreach (var p in directive.Parameters) declaredAsRepeatable.Parameters.Add(onceNames.Contains(p.Name) ? Repeatable(p) : p);
        var flags = directive.Parameters.Where(p => p.Flag).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var declared = directive.Parameters.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

        kernel.AddDirective<T>(declaredAsRepeatable, (command, context) =>
        {
            if (Repeated(command, directive.Name, declared, flags, onceNames) is { } repeated)
            {
                var expected = flags.Contains(repeated.Option) ? "a flag, given once" : "one value expected";
                context.Fail(command, message: $"{directive.Name} {repeated.Option} was given {repeated.Count} times ({expected})");
                return Task.CompletedTask;
            }
            return handler(command, context);
        });
    }

    /// <summary>The same parameter with no limit on its occurrences (MaxOccurrences is init-only). Its completions (a
    /// named-choice option's accepted names, <see cref="Directives.VerbDirective"/>) are asked of the original, whose
    /// completion sources are private to .NET Interactive.</summary>
    static KernelDirectiveParameter Repeatable(KernelDirectiveParameter p) => new KernelDirectiveParameter(p.Name, p.Description)
    {
        AllowImplicitName = p.AllowImplicitName,
        Required = p.Required,
        TypeHint = p.TypeHint,
        Flag = p.Flag,
        MaxOccurrences = int.MaxValue,
    }.AddCompletions(async context =>
    {
        foreach (var item in await p.GetValueCompletionsAsync()) context.CompletionItems.Add(item);
    });

    /// <summary>The first option of <paramref name="once"/> that the command's line gives more than once, and how often.</summary>
    static (string Option, int Count)? Repeated(KernelCommand command, string directive, ISet<string> declared, ISet<string> flags, ISet<string> once)
    {
        var tokens = DirectivePositionals.LineTokens(command, directive);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        for (int i = 0; i < tokens.Count; i++)
        {
            if (!declared.Contains(tokens[i])) continue;
            var option = tokens[i];
            if (!flags.Contains(option)) i++; // its value, whatever it looks like
            if (!once.Contains(option)) continue;
            counts[option] = counts.GetValueOrDefault(option) + 1;
            if (counts[option] == 2) order.Add(option);
        }
        return order.Count == 0 ? null : (order[0], counts[order[0]]);
    }
}
