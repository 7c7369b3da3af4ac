using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Ckpt.Verbs;

/// <summary>
/// The options <typeparamref name="TRequest"/> declares with <see cref="OptionAttribute"/>, and the one binding from a
/// verb's raw values to it: each value is read by its kind through <see cref="VerbValues"/> (so `--steps ten` is refused
/// with the same sentence on every surface) and set on its property; an option not given keeps the property's initial
/// value, which is also the default each surface shows. A request is a record with init properties, or a positional
/// record whose parameters carry the attribute. An enum value is one of its members' names (<see cref="EnumChoices"/>);
/// a list with a <see cref="OptionAttribute.Separator"/> is one value split on it; a blank value of a path option is
/// taken as not given, as a blank value of a list option is dropped: a magic's empty placeholder is not a value.
/// </summary>
public static class RequestOptions<TRequest>
{
    /// <summary>One option and where its value goes: a property, or a parameter of the positional constructor.</summary>
    sealed record Member(VerbOption Option, Type Type, char Separator, PropertyInfo? Property, ParameterInfo? Parameter);

    static readonly ConstructorInfo Constructor = typeof(TRequest).GetConstructor(Type.EmptyTypes)
        ?? typeof(TRequest).GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
        ?? throw new InvalidOperationException($"{typeof(TRequest).Name} has no public constructor");

    static readonly Member[] Members = Declared().ToArray();

    /// <summary>In declaration order: the constructor's parameters, then the properties.</summary>
    public static IReadOnlyList<VerbOption> Options { get; } = Members.Select(m => m.Option).ToArray();

    /// <exception cref="ArgumentException">A malformed value; the message names the option.</exception>
    public static TRequest Bind(VerbValues values)
    {
        var parameters = Constructor.GetParameters();
        var arguments = parameters.Select(p => p.HasDefaultValue ? p.DefaultValue : null).ToArray();
        foreach (var m in Members.Where(m => m.Parameter is not null))
            if (Read(m, values) is { } value)
                arguments[m.Parameter!.Position] = value;
        var request = (TRequest)Unwrapped(() => Constructor.Invoke(arguments))!;
        foreach (var m in Members.Where(m => m.Property is not null))
            if (Read(m, values) is { } value)
                m.Property!.SetValue(request, value);
        return request;
    }

    static IEnumerable<Member> Declared()
    {
        var defaults = Constructor.GetParameters().Length == 0 ? Constructor.Invoke(null) : null;
        foreach (var p in Constructor.GetParameters())
            if (p.GetCustomAttribute<OptionAttribute>() is { } a)
                yield return Describe(a, p.ParameterType, p.Name!, p.HasDefaultValue ? p.DefaultValue : null) with { Parameter = p };
        foreach (var p in typeof(TRequest).GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
            if (p.GetCustomAttribute<OptionAttribute>() is { } a)
                yield return Describe(a, p.PropertyType, p.Name, defaults is null ? null : p.GetValue(defaults)) with { Property = p };
    }

    static Member Describe(OptionAttribute a, Type type, string member, object? initial)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        var list = t != typeof(string) && typeof(IEnumerable<string>).IsAssignableFrom(t);
        var many = list && a.Separator == '\0';
        var kind = list || t == typeof(string) ? (a.Path ? OptionKind.Path : OptionKind.Text)
            : t.IsEnum ? OptionKind.Text
            : t == typeof(bool) ? OptionKind.Flag
            : t == typeof(int) || t == typeof(long) || t == typeof(ulong) ? OptionKind.Integer
            : t == typeof(double) ? OptionKind.Number
            : throw new InvalidOperationException($"{typeof(TRequest).Name}.{member}: an option fills a bool, int, long, ulong, double, string, enum or list of strings, not a {type.Name}");
        // A required option's initial value is a placeholder (default(T) for an enum), not a default.
        var shown = a.Required ? null
            : list ? (many || initial is null ? null : string.Join(a.Separator, (IEnumerable<string>)initial))
            : t.IsEnum ? (initial is null ? null : EnumChoices.Name(initial))
            : Typed(initial);
        var help = a.HelpFrom is null ? a.Help
            : a.HelpFrom.GetProperty(a.Help, BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as string
              ?? throw new InvalidOperationException($"{typeof(TRequest).Name}.{member}: {a.HelpFrom.Name}.{a.Help} is not a static string property");
        var option = new VerbOption(a.Name, help, kind)
        {
            Default = a.Default ?? shown,
            Many = many,
            Required = a.Required,
            Positional = a.Positional,
            Noun = a.Noun,
            Exactly = a.Exactly > 0 ? a.Exactly : null,
            Surface = a.Surface,
            Choices = t.IsEnum ? EnumChoices.Names(t) : null,
        };
        return new Member(option, t, a.Separator, null, null);
    }

    /// <summary>An initial value as the user would type it; a flag and an absent value have no default.</summary>
    static string? Typed(object? initial) => initial switch
    {
        null or bool => null,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => initial.ToString(),
    };

    /// <summary>The typed value, or null where the option was not given and has no default (the member keeps its own).</summary>
    static object? Read(Member m, VerbValues v)
    {
        var name = m.Option.Name;
        if (m.Option.Many)
        {
            // A blank value is a magic's empty placeholder, not a value; a fixed count keeps every place.
            var all = v.All(name);
            return m.Option.Exactly is null ? all.Where(s => !string.IsNullOrWhiteSpace(s)).ToArray() : all.ToArray();
        }
        if (m.Option.Kind == OptionKind.Path || m.Separator != '\0')
        {
            var text = v.Text(name);
            if (m.Option.Kind == OptionKind.Path && string.IsNullOrWhiteSpace(text))
                text = m.Option.Default;
            return m.Separator == '\0' ? text : text?.Split(m.Separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        return m.Type switch
        {
            _ when m.Type.IsEnum => v.Text(name) is { } text ? EnumChoices.Read(name, m.Type, text) : null,
            _ when m.Type == typeof(bool) => v.Flag(name),
            _ when m.Type == typeof(int) => v.Integer(name),
            _ when m.Type == typeof(long) => v.Long(name),
            _ when m.Type == typeof(ulong) => v.Unsigned(name),
            _ when m.Type == typeof(double) => v.Number(name),
            _ => v.Text(name),
        };
    }

    /// <summary>A constructor's own exception, not reflection's wrapper: its sentence is the user's.</summary>
    static object? Unwrapped(Func<object?> call)
    {
        try
        {
            return call();
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
