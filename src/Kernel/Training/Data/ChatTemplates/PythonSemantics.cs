namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>
/// The Python operations a template's expressions run, on JSON-like values only (string, long, double, bool, null,
/// List, object?[] tuples, OrderedDictionary, namespace, loop, Undefined): truth, equality, ordering, arithmetic,
/// len, iteration, indexing and slicing by code point. Anything else Python would refuse is a <see cref="TemplateError"/>.
/// </summary>
static class PythonSemantics
{
    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        IList<object?> list => list.Count > 0,
        OrderedDictionary<string, object?> dict => dict.Count > 0,
        _ => true,
    };

    static bool IsNumber(object? v) => v is long or double or bool;

    static double AsDouble(object? v) => v switch { long l => l, double d => d, bool b => b ? 1 : 0, _ => throw new InvalidCastException() };

    static long AsLong(object? v) => v switch { long l => l, bool b => b ? 1 : 0, _ => throw new InvalidCastException() };

    public static new bool Equals(object? a, object? b)
    {
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (IsNumber(a) && IsNumber(b))
            return a is double || b is double ? AsDouble(a) == AsDouble(b) : AsLong(a) == AsLong(b);
        return (a, b) switch
        {
            (null, null) => true,
            (string x, string y) => x == y,
            (object?[] x, object?[] y) => SequenceEquals(x, y),
            (List<object?> x, List<object?> y) => SequenceEquals(x, y),
            (OrderedDictionary<string, object?> x, OrderedDictionary<string, object?> y) =>
                x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var w) && Equals(kv.Value, w)),
            _ => ReferenceEquals(a, b),
        };
    }

    static bool SequenceEquals(IList<object?> x, IList<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Equals(p.First, p.Second));

    /// <summary>Python's &lt; family: numbers with numbers, strings by code point, sequences lexicographically.</summary>
    public static int Order(object? a, object? b, string op)
    {
        Defined(a); Defined(b);
        if (IsNumber(a) && IsNumber(b)) return AsDouble(a).CompareTo(AsDouble(b));
        if (a is string x && b is string y) return string.CompareOrdinal(x, y);
        if ((a, b) is (List<object?>, List<object?>) or (object?[], object?[]))
        {
            var (l, r) = ((IList<object?>)a!, (IList<object?>)b!);
            for (int i = 0; i < Math.Min(l.Count, r.Count); i++)
                if (!Equals(l[i], r[i])) return Order(l[i], r[i], op);
            return l.Count.CompareTo(r.Count);
        }
        throw new TemplateError($"'{op}' expects two numbers, strings or lists, found {Article(a)} and {Article(b)}");
    }

    public static string Article(object? v)
    {
        var name = PythonText.TypeName(v);
        return v is null ? "None" : v is Undefined ? "an undefined value" : ("aeiou".Contains(name[0]) ? "an " : "a ") + name;
    }

    /// <summary>Throws jinja2's UndefinedError when <paramref name="v"/> is undefined.</summary>
    public static object? Defined(object? v) => v is Undefined u ? throw new TemplateError(u.Hint) : v;

    public static bool Contains(object? container, object? item) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        string => throw new TemplateError($"'in <string>' expects a string on the left, found {Article(item)}"),
        IList<object?> list => list.Any(x => Equals(x, item)),
        OrderedDictionary<string, object?> dict => item is string k && dict.ContainsKey(k),
        Undefined => false,
        _ => throw new TemplateError($"'in' expects a string, list or dict on the right, found {Article(container)}"),
    };

    public static object? Add(object? a, object? b)
    {
        Defined(a); Defined(b);
        return (a, b) switch
        {
            (string x, string y) => x + y,
            (List<object?> x, List<object?> y) => new List<object?>([.. x, .. y]),
            (object?[] x, object?[] y) => (object?[])[.. x, .. y],
            _ when IsNumber(a) && IsNumber(b) => a is double || b is double ? (object)(AsDouble(a) + AsDouble(b)) : checked(AsLong(a) + AsLong(b)),
            _ => throw new TemplateError($"'+' expects two numbers, strings or lists, found {Article(a)} and {Article(b)}"),
        };
    }

    public static object? Arithmetic(string op, object? a, object? b)
    {
        Defined(a); Defined(b);
        if (op == "*")
        {
            if (a is string s && b is long or bool) return Repeat(s, AsLong(b));
            if (b is string t && a is long or bool) return Repeat(t, AsLong(a));
            if (a is List<object?> l && b is long or bool) return Repeat(l, AsLong(b));
            if (b is List<object?> m && a is long or bool) return Repeat(m, AsLong(a));
        }
        if (!IsNumber(a) || !IsNumber(b))
            throw new TemplateError($"'{op}' expects two numbers, found {Article(a)} and {Article(b)}");
        bool floating = a is double || b is double;
        switch (op)
        {
            case "-": return floating ? (object)(AsDouble(a) - AsDouble(b)) : checked(AsLong(a) - AsLong(b));
            case "*": return floating ? (object)(AsDouble(a) * AsDouble(b)) : checked(AsLong(a) * AsLong(b));
            case "/":
                if (AsDouble(b) == 0) throw new TemplateError("division by zero");
                return AsDouble(a) / AsDouble(b);
            case "//":
                if (AsDouble(b) == 0) throw new TemplateError("integer division or modulo by zero");
                if (floating) return Math.Floor(AsDouble(a) / AsDouble(b));
                return FloorDiv(AsLong(a), AsLong(b));
            case "%":
                if (AsDouble(b) == 0) throw new TemplateError("integer division or modulo by zero");
                if (floating)
                {
                    double x = AsDouble(a), y = AsDouble(b), r = x % y;
                    return r != 0 && (r < 0) != (y < 0) ? r + y : r;
                }
                return AsLong(a) - FloorDiv(AsLong(a), AsLong(b)) * AsLong(b);
            case "**":
                if (!floating && AsLong(b) >= 0)
                {
                    long result = 1, x = AsLong(a);
                    for (long i = 0; i < AsLong(b); i++) result = checked(result * x);
                    return result;
                }
                return Math.Pow(AsDouble(a), AsDouble(b));
        }
        throw new TemplateError($"unknown operator '{op}'");
    }

    static long FloorDiv(long a, long b)
    {
        long q = a / b;
        return (a % b != 0) && ((a < 0) != (b < 0)) ? q - 1 : q;
    }

    const long MaxRepeat = 16 << 20;

    static string Repeat(string s, long n) => n <= 0 ? ""
        : n * Math.Max(1, s.Length) > MaxRepeat ? throw new TemplateError($"'*' would make a string of more than {MaxRepeat:N0} characters")
        : new StringBuilder().Insert(0, s, (int)n).ToString();

    static List<object?> Repeat(List<object?> l, long n) => n <= 0 ? []
        : n * Math.Max(1, l.Count) > MaxRepeat ? throw new TemplateError($"'*' would make a list of more than {MaxRepeat:N0} items")
        : [.. Enumerable.Repeat(l, (int)n).SelectMany(x => x)];

    public static object? Negate(object? v) => Defined(v) switch
    {
        long l => (object)checked(-l),
        double d => -d,
        bool b => b ? -1L : 0L,
        _ => throw new TemplateError($"unary '-' expects a number, found {Article(v)}"),
    };

    public static int Length(object? v) => v switch
    {
        string s => CodePoints(s).Length,
        IList<object?> list => list.Count,
        OrderedDictionary<string, object?> dict => dict.Count,
        Undefined => 0,
        _ => throw new TemplateError($"expected something with a length (string, list, dict), found {Article(v)}"),
    };

    /// <summary>The items a for loop sees: list and tuple items, a dict's keys, a string's characters; Undefined is empty.</summary>
    public static IReadOnlyList<object?> Iterate(object? v) => v switch
    {
        IList<object?> list => list as IReadOnlyList<object?> ?? [.. list],
        OrderedDictionary<string, object?> dict => [.. dict.Keys],
        string s => [.. CodePoints(s)],
        Undefined => [],
        _ => throw new TemplateError($"expected something to iterate (list, dict, string), found {Article(v)}"),
    };

    /// <summary>A string as Python's sequence of code points, each a one-character string.</summary>
    public static string[] CodePoints(string s) => s.EnumerateRunes().Select(r => r.ToString()).ToArray();

    public static object? Item(object? target, object? key)
    {
        switch (target)
        {
            case Undefined u: throw new TemplateError(u.Hint);
            case OrderedDictionary<string, object?> dict when key is string k:
                return dict.TryGetValue(k, out var v) ? v : TemplateMethods.Attribute(dict, k) is { } m and not Undefined ? m : new Undefined($"'dict object' has no attribute '{k}'");
            case IList<object?> list when key is long or bool:
                long i = AsLong(key);
                if (i < 0) i += list.Count;
                return i >= 0 && i < list.Count ? list[(int)i] : new Undefined($"{PythonText.TypeName(target)} object has no element {AsLong(key)}");
            case string s when key is long or bool:
                var cps = CodePoints(s);
                long j = AsLong(key);
                if (j < 0) j += cps.Length;
                return j >= 0 && j < cps.Length ? cps[j] : new Undefined($"str object has no element {AsLong(key)}");
        }
        if (key is string name) return TemplateMethods.Attribute(target, name);
        return new Undefined($"'{PythonText.TypeName(target)} object' has no element {PythonText.Repr(key)}");
    }

    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        Defined(target);
        long? Bound(object? b, string what) => b switch
        {
            null => null,
            long or bool => AsLong(b),
            _ => throw new TemplateError($"slice {what} must be an integer or none, found {Article(b)}"),
        };
        long? st = Bound(step, "step");
        if (st == 0) throw new TemplateError("slice step cannot be zero");
        IList<object?> items = target switch
        {
            string s => CodePoints(s),
            IList<object?> list => list,
            _ => throw new TemplateError($"expected a string, list or tuple to slice, found {Article(target)}"),
        };
        var picked = SliceIndices(items.Count, Bound(start, "start"), Bound(stop, "stop"), st ?? 1).Select(i => items[i]).ToList();
        return target switch
        {
            string => string.Concat(picked.Cast<string>()),
            object?[] => picked.ToArray(),
            _ => picked,
        };
    }

    /// <summary>Python's slice.indices: clamps and defaults the bounds for a step's sign, then walks them.</summary>
    static IEnumerable<int> SliceIndices(int length, long? start, long? stop, long step)
    {
        long Clamp(long? v, long lowDefault, long highDefault, bool isStart)
        {
            if (v is not long x) return isStart ? (step > 0 ? lowDefault : highDefault) : (step > 0 ? highDefault : lowDefault);
            if (x < 0) x += length;
            return step > 0 ? Math.Clamp(x, 0, length) : Math.Clamp(x, -1, length - 1);
        }
        long a = Clamp(start, 0, length - 1, true), b = Clamp(stop, -1, length, false);
        if (step > 0) b = stop is null ? length : b;
        else b = stop is null ? -1 : b;
        if (step > 0) for (long i = a; i < b; i += step) yield return (int)i;
        else for (long i = a; i > b; i += step) yield return (int)i;
    }

    public static string IntText(long v) => v.ToString(CultureInfo.InvariantCulture);
}
