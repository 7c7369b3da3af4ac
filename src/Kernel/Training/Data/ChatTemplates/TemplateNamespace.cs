namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>jinja2's `namespace(...)`: the one object a template may change (`{% set ns.x = ... %}`), so loops can carry state out.</summary>
sealed class TemplateNamespace
{
    public OrderedDictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}
