namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>Something a template may call: a global (range, namespace, raise_exception), a bound method or a macro.</summary>
sealed class TemplateFunction(string name, Func<IReadOnlyList<object?>, IReadOnlyDictionary<string, object?>, int, object?> call)
{
    public string Name { get; } = name;

    /// <summary>Calls it with positional and keyword arguments; the int is the calling line, for errors.</summary>
    public object? Invoke(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> keywords, int line) => call(args, keywords, line);
}
