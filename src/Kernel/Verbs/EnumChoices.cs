using System.Reflection;

namespace Ckpt.Verbs;

/// <summary>
/// An enum type as the values of an option (`--recipe`, `--dpo-loss`, `--rescale`): each member is spelled as its name
/// in lower case with a dash between words (`InverseDensity` is `inverse-density`), or as any
/// <see cref="OptionSpellingAttribute"/> it declares, read trimmed, without regard to case and with `_` taken for `-`;
/// anything else is refused with one sentence naming the option, the accepted names and the value.
/// </summary>
static class EnumChoices
{
    /// <summary>The members in declaration order, one name each: what the refusal and <see cref="VerbOption.Choices"/> list.</summary>
    public static IReadOnlyList<string> Names(Type type) => Members(type).Select(f => Spelled(f.Name)).ToArray();

    /// <summary>A value as the user would type it: `constant`, `inverse-density`.</summary>
    public static string Name(object value) => Spelled(value.ToString()!);

    /// <summary>`InverseDensity` as `inverse-density`.</summary>
    static string Spelled(string member) =>
        string.Concat(member.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    /// <summary>What is compared: lower case, `_` as `-`.</summary>
    static string Key(string text) => text.Trim().ToLowerInvariant().Replace('_', '-');

    /// <exception cref="ArgumentException">No member is spelled <paramref name="text"/>.</exception>
    public static object Read(string option, Type type, string text)
    {
        var wanted = Key(text);
        foreach (var f in Members(type))
            if (Spelled(f.Name) == wanted || f.GetCustomAttributes<OptionSpellingAttribute>().Any(s => Key(s.Spelling) == wanted))
                return f.GetValue(null)!;
        var names = Names(type);
        var listed = names.Count == 1 ? names[0] : $"{string.Join(", ", names.Take(names.Count - 1))} or {names[^1]}";
        throw new ArgumentException($"{option} must be {listed}, not '{text}'");
    }

    static IEnumerable<FieldInfo> Members(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static).OrderBy(f => f.MetadataToken);
}
