namespace Ckpt.Verbs;

/// <summary>
/// Declares the verb option that fills this property of a request (or this parameter of a positional record): its
/// name and help here, its kind from the property's type (bool a flag, int/long/ulong an integer, double a number,
/// string text, an enum one of its members' lower-case names, a list of strings an option given once per value or,
/// with <see cref="Separator"/>, once as a list) and its default from the property's initialiser.
/// <see cref="RequestOptions{TRequest}"/> lists the options in declaration order and binds them, so adding an option to
/// a verb is adding one property.
/// </summary>
/// <param name="name">With its dashes: `--lora-r`.</param>
/// <param name="help">One sentence, without the default (each surface shows the default its own way).</param>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class OptionAttribute(string name, string help) : Attribute
{
    public string Name { get; } = name;

    public string Help { get; } = help;

    /// <summary>A class whose public static string property named by <see cref="Help"/> gives the help, where the help
    /// is built at run time (the list of merge methods) and an attribute argument must be a constant.</summary>
    public Type? HelpFrom { get; set; }

    /// <summary>The value is a file or folder (<see cref="OptionKind.Path"/>) rather than text; a blank value is taken as
    /// not given (a notebook's empty placeholder), so the option keeps its default.</summary>
    public bool Path { get; set; }

    public bool Required { get; set; }

    /// <inheritdoc cref="VerbOption.Positional"/>
    public bool Positional { get; set; }

    /// <inheritdoc cref="VerbOption.Noun"/>
    public string? Noun { get; set; }

    /// <summary>A list option given once, its items split on this character (`--lora-targets q_proj,v_proj`), trimmed,
    /// empty ones dropped; '\0' (the default) takes one value per occurrence instead.</summary>
    public char Separator { get; set; }

    /// <summary>How many values a list option takes when the count is fixed; 0 when it is not.</summary>
    public int Exactly { get; set; }

    public OptionSurface Surface { get; set; } = OptionSurface.Both;

    /// <summary>The default as the user would type it, where the property's initial value is not that text; otherwise
    /// the initial value is the default.</summary>
    public string? Default { get; set; }
}
