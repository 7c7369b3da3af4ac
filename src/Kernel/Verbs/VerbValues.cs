using System.Numerics;

namespace Ckpt.Verbs;

/// <summary>
/// The raw values a surface collected for a verb, read back typed with the verb's defaults. Every surface binds its
/// request through this one reader, so a missing value, a repeated one or a malformed number is refused with the same
/// sentence from the CLI and from a magic.
/// </summary>
public sealed class VerbValues
{
    readonly Verb _verb;
    readonly IReadOnlyDictionary<string, IReadOnlyList<string>> _given;

    internal VerbValues(Verb verb, IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        foreach (var (name, values) in given)
        {
            var option = verb.Options.FirstOrDefault(o => o.Name == name) ?? throw new ArgumentException($"{verb.Name} has no option {name}");
            if (!option.Many && values.Count > 1)
                throw new ArgumentException($"{name} was given {values.Count} times ({(option.Flag ? "a flag, given once" : "one value expected")})");
            if (option.Exactly is int n && values.Count != n)
                throw new ArgumentException($"{verb.Name} needs {option.Noun} and was given {CountOf(values.Count)}");
        }
        foreach (var option in verb.Options.Where(o => o.Required && o.Default is null))
            if (!given.TryGetValue(option.Name, out var values) || values.All(string.IsNullOrWhiteSpace))
                throw new ArgumentException(option.Exactly is null ? $"{verb.Name} needs {option.Name}" : $"{verb.Name} needs {option.Noun} and was given no value");
        _verb = verb;
        _given = given;
    }

    /// <summary>Whether the user gave the option (a default does not count).</summary>
    public bool Given(string name) => _given.TryGetValue(name, out var v) && v.Count > 0;

    /// <summary>The one value, else the default, else null.</summary>
    public string? Text(string name) => Given(name) ? _given[name][^1] : _verb[name].Default;

    public string Required(string name) => Text(name) ?? throw new ArgumentException($"{_verb.Name} needs {name}");

    /// <summary>Every value given (a default counts as one).</summary>
    public IReadOnlyList<string> All(string name) => Given(name) ? _given[name] : _verb[name].Default is { } d ? [d] : [];

    public bool Flag(string name) => Text(name) is { } text && (text.Length == 0 || !text.Equals("false", StringComparison.OrdinalIgnoreCase));

    public int? Integer(string name) => Parsed<int>(name, "an integer", NumberStyles.Integer);

    public long? Long(string name) => Parsed<long>(name, "an integer", NumberStyles.Integer);

    public ulong? Unsigned(string name) => Parsed<ulong>(name, "a non-negative integer", NumberStyles.Integer);

    public double? Number(string name) => Parsed<double>(name, "a number", NumberStyles.Float);

    /// <summary>Invariant culture, so `2e-4` and `0.5` read the same on every machine.</summary>
    T? Parsed<T>(string name, string what, NumberStyles style) where T : struct, INumberBase<T> =>
        Text(name) is not { } text ? null
        : T.TryParse(text.Trim(), style, CultureInfo.InvariantCulture, out var v) ? v
        : throw NotA(name, what, text);

    /// <summary>"no value", "one value", "3 values": how many values an option was given, for a count sentence.</summary>
    public static string CountOf(int n) => n switch { 0 => "no value", 1 => "one value", _ => $"{n} values" };

    static ArgumentException NotA(string name, string what, string text) => new($"{name} must be {what}, not '{text}'");
}
