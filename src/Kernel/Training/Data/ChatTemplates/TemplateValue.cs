namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>JSON to the interpreter's values, as Python's json.loads gives them: ints stay ints, objects keep key order.</summary>
static class TemplateValue
{
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) && !e.GetRawText().AsSpan().ContainsAny('.', 'e') && !e.GetRawText().Contains('E') ? (object)l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        _ => Object(e),
    };

    static OrderedDictionary<string, object?> Object(JsonElement e)
    {
        var d = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject()) d[p.Name] = FromJson(p.Value);
        return d;
    }
}
