using static Ckpt.Training.Data.ChatTemplates.PythonSemantics;

namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>The `is` tests of jinja2 3.1 (`x is defined`, `n is divisibleby 3`), with its quirks: a bool is a number, Undefined is iterable.</summary>
static class TemplateTests
{
    static readonly Dictionary<string, Func<object?, IReadOnlyList<object?>, bool>> All = new()
    {
        ["defined"] = (v, _) => v is not Undefined,
        ["undefined"] = (v, _) => v is Undefined,
        ["none"] = (v, _) => v is null,
        ["boolean"] = (v, _) => v is bool,
        ["true"] = (v, _) => v is true,
        ["false"] = (v, _) => v is false,
        ["string"] = (v, _) => v is string,
        ["number"] = (v, _) => v is long or double or bool,
        ["integer"] = (v, _) => v is long,
        ["float"] = (v, _) => v is double,
        ["mapping"] = (v, _) => v is OrderedDictionary<string, object?>,
        ["iterable"] = (v, _) => v is string or IList<object?> or OrderedDictionary<string, object?> or Undefined,
        ["sequence"] = (v, _) => v is string or IList<object?> or OrderedDictionary<string, object?> or Undefined,
        ["callable"] = (v, _) => v is TemplateFunction,
        ["odd"] = (v, _) => Integer(v, "odd") % 2 != 0,
        ["even"] = (v, _) => Integer(v, "even") % 2 == 0,
        ["divisibleby"] = (v, a) => Integer(v, "divisibleby") % Integer(a.Count > 0 ? a[0] : null, "divisibleby") == 0,
        ["lower"] = (v, _) => PythonText.Str(v) is var s && s.Any(char.IsLetter) && !s.Any(char.IsUpper),
        ["upper"] = (v, _) => PythonText.Str(v) is var s && s.Any(char.IsLetter) && !s.Any(char.IsLower),
        ["sameas"] = (v, a) => a.Count > 0 && (v is null or bool ? PythonSemantics.Equals(v, a[0]) && v?.GetType() == a[0]?.GetType() : ReferenceEquals(v, a[0])),
        ["in"] = (v, a) => Contains(a.Count > 0 ? a[0] : null, v),
        ["eq"] = (v, a) => PythonSemantics.Equals(v, One(a)),
        ["ne"] = (v, a) => !PythonSemantics.Equals(v, One(a)),
        ["lt"] = (v, a) => Order(v, One(a), "<") < 0,
        ["le"] = (v, a) => Order(v, One(a), "<=") <= 0,
        ["gt"] = (v, a) => Order(v, One(a), ">") > 0,
        ["ge"] = (v, a) => Order(v, One(a), ">=") >= 0,
    };

    static readonly Dictionary<string, string> Aliases = new()
    {
        ["equalto"] = "eq", ["=="] = "eq", ["!="] = "ne", ["lessthan"] = "lt", ["<"] = "lt", ["<="] = "le",
        ["greaterthan"] = "gt", [">"] = "gt", [">="] = "ge",
    };

    static object? One(IReadOnlyList<object?> a) => a.Count > 0 ? a[0] : throw new TemplateError("the test needs one argument");

    static long Integer(object? v, string test) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new TemplateError($"the '{test}' test expects an integer, found {Article(v)}"),
    };

    public static bool Exists(string name) => All.ContainsKey(name) || Aliases.ContainsKey(name);

    public static bool Apply(string name, object? value, IReadOnlyList<object?> args) =>
        All[Aliases.GetValueOrDefault(name, name)](value, args);
}
