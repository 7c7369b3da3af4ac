namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>
/// jinja2's default Undefined: prints as "", is false, iterates as empty, has length 0, equals only another
/// Undefined, and fails (with <see cref="Hint"/>) when used any other way, e.g. an attribute of it is read.
/// </summary>
sealed class Undefined(string hint)
{
    /// <summary>Why it is undefined, as jinja2 words it: `'x' is undefined`, `'dict object' has no attribute 'y'`.</summary>
    public string Hint { get; } = hint;

    public static Undefined Name(string name) => new($"'{name}' is undefined");

    public static Undefined Missing(object? owner, string attribute) =>
        new($"'{PythonText.TypeName(owner)} object' has no attribute '{attribute}'");

    public override string ToString() => "";
}
