using static Ckpt.Training.Data.ChatTemplates.PythonSemantics;

namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>
/// The filters chat templates use, with jinja2 3.1's behaviour (and HF's tojson: json.dumps with ensure_ascii=False,
/// no HTML escaping). select/reject/selectattr/rejectattr/map return lists where jinja2 returns generators.
/// </summary>
static class TemplateFilters
{
    delegate object? Filter(object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kw, Func<string, object?, IReadOnlyList<object?>, bool> test);

    static object? Arg(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kw, int i, string name, object? fallback = null) =>
        i < args.Count ? args[i] : kw.TryGetValue(name, out var v) ? v : fallback;

    static readonly Dictionary<string, Filter> All = new()
    {
        ["trim"] = (v, a, k, _) => Arg(a, k, 0, "chars") is string c ? PythonText.Str(v).Trim(c.ToCharArray()) : PythonText.Str(v).Trim(PythonText.WhitespaceChars),
        ["length"] = (v, _, _, _) => (long)Length(v),
        ["count"] = (v, _, _, _) => (long)Length(v),
        ["upper"] = (v, _, _, _) => PythonText.Str(v).ToUpperInvariant(),
        ["lower"] = (v, _, _, _) => PythonText.Str(v).ToLowerInvariant(),
        ["capitalize"] = (v, _, _, _) => PythonText.Str(v) is var s && s.Length > 0 ? s[..1].ToUpperInvariant() + s[1..].ToLowerInvariant() : "",
        ["title"] = (v, _, _, _) => Title(PythonText.Str(v)),
        ["first"] = (v, _, _, _) => Iterate(v) is { Count: > 0 } items ? items[0] : new Undefined("No first item, sequence was empty."),
        ["last"] = (v, _, _, _) => Iterate(v) is { Count: > 0 } items ? items[^1] : new Undefined("No last item, sequence was empty."),
        ["join"] = (v, a, k, _) =>
        {
            var items = Iterate(v);
            if (Arg(a, k, 1, "attribute") is string attr) items = [.. items.Select(x => Item(x, attr))];
            return string.Join(PythonText.Str(Arg(a, k, 0, "d", "")), items.Select(PythonText.Str));
        },
        ["default"] = Default,
        ["d"] = Default,
        ["tojson"] = (v, a, k, _) =>
        {
            Defined(v);
            int? indent = Arg(a, k, 1, "indent") switch { long n => (int)n, null => null, var x => throw new TemplateError($"tojson indent must be an integer, found {Article(x)}") };
            return PythonText.Json(v, indent, Truthy(Arg(a, k, 4, "sort_keys", false)));
        },
        ["string"] = (v, _, _, _) => PythonText.Str(v),
        ["int"] = (v, a, k, _) => ToInt(v, Arg(a, k, 0, "default", 0L)),
        ["float"] = (v, a, k, _) => ToFloat(v, Arg(a, k, 0, "default", 0.0)),
        ["abs"] = (v, _, _, _) => Defined(v) switch { long l => (object)Math.Abs(l), double d => Math.Abs(d), bool b => b ? 1L : 0L, _ => throw new TemplateError($"abs expects a number, found {Article(v)}") },
        ["list"] = (v, _, _, _) => Iterate(v).ToList(),
        ["reverse"] = (v, _, _, _) => v is string s ? string.Concat(CodePoints(s).Reverse()) : Iterate(Defined(v)).Reverse().ToList(),
        ["replace"] = (v, a, k, _) =>
        {
            string s = PythonText.Str(v), old = PythonText.Str(Arg(a, k, 0, "old")), @new = PythonText.Str(Arg(a, k, 1, "new"));
            var count = Arg(a, k, 2, "count");
            return TemplateMethods.Attribute(s, "replace") is TemplateFunction f ? f.Invoke(count is null ? [old, @new] : [old, @new, count], new Dictionary<string, object?>(), 0) : s;
        },
        ["items"] = (v, _, _, _) => v is Undefined ? new List<object?>() : v is OrderedDictionary<string, object?> d
            ? d.Select(kv => (object?)new object?[] { kv.Key, kv.Value }).ToList()
            : throw new TemplateError($"items expects a dict, found {Article(v)}"),
        ["unique"] = (v, _, _, _) =>
        {
            var seen = new List<object?>();
            foreach (var x in Iterate(v)) if (!seen.Any(y => PythonSemantics.Equals(x, y))) seen.Add(x);
            return seen;
        },
        ["sum"] = (v, _, _, _) => Iterate(v).Aggregate((object?)0L, Add),
        ["map"] = (v, a, k, _) =>
        {
            if (k.TryGetValue("attribute", out var attrValue) && attrValue is string attr)
                return Iterate(v).Select(x => Item(x, attr) is Undefined && k.TryGetValue("default", out var d) ? d : Item(x, attr)).ToList();
            var name = Arg(a, k, 0, "name") as string ?? throw new TemplateError("map needs a filter name or attribute=");
            if (!All!.TryGetValue(name, out var f)) throw new TemplateError($"no filter named '{name}'");
            return Iterate(v).Select(x => f(x, [.. a.Skip(1)], new Dictionary<string, object?>(), (_, _, _) => false)).ToList();
        },
        ["select"] = (v, a, _, test) => Select(v, a, test, attribute: false, keep: true),
        ["reject"] = (v, a, _, test) => Select(v, a, test, attribute: false, keep: false),
        ["selectattr"] = (v, a, _, test) => Select(v, a, test, attribute: true, keep: true),
        ["rejectattr"] = (v, a, _, test) => Select(v, a, test, attribute: true, keep: false),
        ["safe"] = (v, _, _, _) => v,
        ["indent"] = (v, a, k, _) => Indent(PythonText.Str(v), Arg(a, k, 0, "width", 4L), Truthy(Arg(a, k, 1, "first", false)), Truthy(Arg(a, k, 2, "blank", false))),
    };

    public static bool Exists(string name) => All.ContainsKey(name);

    public static object? Apply(string name, object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kw) =>
        All[name](value, args, kw, TemplateTests.Apply);

    static object? Default(object? v, IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k, Func<string, object?, IReadOnlyList<object?>, bool> _) =>
        v is Undefined || (Truthy(Arg(a, k, 1, "boolean", false)) && !Truthy(v)) ? Arg(a, k, 0, "default_value", "") : v;

    static List<object?> Select(object? v, IReadOnlyList<object?> a, Func<string, object?, IReadOnlyList<object?>, bool> test, bool attribute, bool keep)
    {
        int at = 0;
        string? attr = null;
        if (attribute) attr = a.Count > 0 ? PythonText.Str(a[at++]) : throw new TemplateError("selectattr needs an attribute name");
        string? testName = a.Count > at ? PythonText.Str(a[at++]) : null;
        var rest = a.Skip(at).ToList();
        if (testName is not null && !TemplateTests.Exists(testName)) throw new TemplateError($"no test named '{testName}'");
        return Iterate(v).Where(x =>
        {
            var subject = attr is null ? x : Item(x, attr);
            return (testName is null ? Truthy(subject) : test(testName, subject, rest)) == keep;
        }).ToList();
    }

    static object? ToInt(object? v, object? fallback)
    {
        switch (v)
        {
            case long l: return l;
            case bool b: return b ? 1L : 0L;
            case double d when !double.IsNaN(d) && !double.IsInfinity(d): return (long)Math.Truncate(d);
            case string s:
                var t = s.Trim(PythonText.WhitespaceChars).Replace("_", "");
                if (long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)) return i;
                if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && !double.IsInfinity(f) && !double.IsNaN(f)) return (long)Math.Truncate(f);
                return fallback;
        }
        return fallback;
    }

    static object? ToFloat(object? v, object? fallback) => v switch
    {
        long l => (double)l,
        double d => d,
        bool b => b ? 1.0 : 0.0,
        string s when double.TryParse(s.Trim(PythonText.WhitespaceChars), NumberStyles.Float, CultureInfo.InvariantCulture, out var f) => f,
        _ => fallback,
    };

    /// <summary>jinja2's title filter: capitalise each piece between runs of whitespace, '-', '(', '{', '[', '&lt;'.</summary>
    static string Title(string s)
    {
        var sb = new StringBuilder();
        bool start = true;
        foreach (char c in s)
        {
            bool separator = PythonText.IsWhitespace(c) || c is '-' or '(' or '{' or '[' or '<';
            sb.Append(separator ? c : start ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            start = separator;
        }
        return sb.ToString();
    }

    static string Indent(string s, object? width, bool first, bool blank)
    {
        var pad = width as string ?? new string(' ', (int)(width as long? ?? 4));
        var lines = s.Split('\n');
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            if (i > 0) sb.Append('\n');
            bool indent = (i > 0 || first) && (blank || lines[i].Length > 0 && !lines[i].All(PythonText.IsWhitespace));
            sb.Append(indent ? pad : "").Append(lines[i]);
        }
        return sb.ToString();
    }
}
