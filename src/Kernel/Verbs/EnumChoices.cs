using System.Reflection;

namespace Ckpt.Verbs;

/// <summary>
/// An enum type as the values of an option (`--recipe`, `--dpo-loss`): each member is spelled as its lower-case name,
/// or as any <see cref="OptionSpellingAttribute"/> it declares, read trimmed and without regard to case; anything else
/// is refused with one sentence naming the option, the accepted names and the value.
/// </summary>
static class EnumChoices
{
    /// <summary>The members in declaration order, one name each: what the refusal and <see cref="VerbOption.Choices"/> list.</summary>
    public static IReadOnlyList<string> Names(Type type) => Members(type).Select(f => f.Name.ToLowerInvariant()).ToArray();

    /// <summary>A value as the user would type it: `constant`.</summary>
    public static string Name(object value) => value.ToString()!.ToLowerInvariant();

    /// <exception cref="ArgumentException">No member is spelled <paramref name="text"/>.</exception>
    public static object Read(string option, Type type, string text)
    {
        var wanted = text.Trim();
        foreach (var f in Members(type))
            if (f.Name.Equals(wanted, StringComparison.OrdinalIgnoreCase)
                || f.GetCustomAttributes<OptionSpellingAttribute>().Any(s => s.Spelling.Equals(wanted, StringComparison.OrdinalIgnoreCase)))
                return f.GetValue(null)!;
        var names = Names(type);
        var listed = names.Count == 1 ? names[0] : $"{string.Join(", ", names.Take(names.Count - 1))} or {names[^1]}";
        throw new ArgumentException($"{option} must be {listed}, not '{text}'");
    }

    static IEnumerable<FieldInfo> Members(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static).OrderBy(f => f.MetadataToken);
}
