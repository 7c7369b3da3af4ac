namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>
/// Attribute access as jinja2 does it (`x.name`: a Python attribute first, then the dict key), with only the safe,
/// non-mutating methods of str, dict and list exposed; methods that change a value (append, update, pop) are refused
/// as ImmutableSandboxedEnvironment refuses them. Nothing reaches a .NET object's members.
/// </summary>
static class TemplateMethods
{
    static readonly HashSet<string> Mutating = ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update", "setdefault", "popitem"];

    public static object? Attribute(object? target, string name)
    {
        switch (target)
        {
            case Undefined u: throw new TemplateError(u.Hint);
            case OrderedDictionary<string, object?> dict:
                if (name is "items" or "keys" or "values" or "get") return Method(dict, name);
                if (Mutating.Contains(name)) throw Unsafe(target, name);
                return dict.TryGetValue(name, out var v) ? v : Undefined.Missing(dict, name);
            case string s when StringMethods.Contains(name): return Method(s, name);
            case List<object?> or object?[] when name is "index" or "count": return Method(target, name);
            case List<object?> when Mutating.Contains(name): throw Unsafe(target, name);
            case TemplateNamespace ns: return ns.Attributes.TryGetValue(name, out var a) ? a : Undefined.Missing(ns, name);
            case LoopContext loop: return loop.Attribute(name);
        }
        return Undefined.Missing(target, name);
    }

    static TemplateError Unsafe(object? target, string name) =>
        new($"access to attribute '{name}' of '{PythonText.TypeName(target)}' object is unsafe (templates may not change values)");

    static readonly HashSet<string> StringMethods =
        ["strip", "lstrip", "rstrip", "startswith", "endswith", "split", "rsplit", "splitlines", "upper", "lower", "title", "capitalize",
         "replace", "find", "rfind", "count", "join", "isdigit", "isalpha", "isspace", "isupper", "islower", "zfill"];

    static TemplateFunction Method(object target, string name) =>
        new($"{PythonText.TypeName(target)}.{name}", (args, kw, _) => Call(target, name, args, kw));

    static object? Arg(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kw, int i, string name, object? fallback = null) =>
        i < args.Count ? args[i] : kw.TryGetValue(name, out var v) ? v : fallback;

    static string Text(object? v, string method) => v as string ?? throw new TemplateError($"{method} expects a string argument, found {PythonSemantics.Article(v)}");

    static object? Call(object target, string name, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kw)
    {
        if (target is OrderedDictionary<string, object?> dict)
            return name switch
            {
                "items" => dict.Select(kv => (object?)new object?[] { kv.Key, kv.Value }).ToList(),
                "keys" => dict.Keys.Select(k => (object?)k).ToList(),
                "values" => dict.Values.ToList(),
                _ => Arg(args, kw, 0, "key") is string k && dict.TryGetValue(k, out var v) ? v : Arg(args, kw, 1, "default"),
            };
        if (target is IList<object?> list)
        {
            var item = Arg(args, kw, 0, "value");
            if (name == "count") return (long)list.Count(x => PythonSemantics.Equals(x, item));
            for (int i = 0; i < list.Count; i++) if (PythonSemantics.Equals(list[i], item)) return (long)i;
            throw new TemplateError($"{PythonText.Repr(item)} is not in list");
        }
        var s = (string)target;
        string? Chars() => Arg(args, kw, 0, "chars") is { } c ? Text(c, name) : null;
        switch (name)
        {
            case "strip": return Chars() is { } c ? s.Trim(c.ToCharArray()) : s.Trim(PythonText.WhitespaceChars);
            case "lstrip": return Chars() is { } l ? s.TrimStart(l.ToCharArray()) : s.TrimStart(PythonText.WhitespaceChars);
            case "rstrip": return Chars() is { } r ? s.TrimEnd(r.ToCharArray()) : s.TrimEnd(PythonText.WhitespaceChars);
            case "startswith" or "endswith":
                var affix = Arg(args, kw, 0, "prefix");
                var options = affix is IList<object?> many ? many.Select(a => Text(a, name)).ToList() : [Text(affix, name)];
                return options.Any(o => name == "startswith" ? s.StartsWith(o, StringComparison.Ordinal) : s.EndsWith(o, StringComparison.Ordinal));
            case "split" or "rsplit": return Split(s, Arg(args, kw, 0, "sep"), Arg(args, kw, 1, "maxsplit", -1L) is long m ? m : -1, name == "rsplit");
            case "splitlines":
                var lines = s.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n').Select(x => (object?)x).ToList();
                if (s.Length > 0 && s[^1] is '\n' or '\r') lines.RemoveAt(lines.Count - 1);
                return s.Length == 0 ? new List<object?>() : lines;
            case "upper": return s.ToUpperInvariant();
            case "lower": return s.ToLowerInvariant();
            case "title": return Title(s);
            case "capitalize": return s.Length == 0 ? s : s[..1].ToUpperInvariant() + s[1..].ToLowerInvariant();
            case "replace":
                var old = Text(Arg(args, kw, 0, "old"), name);
                var @new = Text(Arg(args, kw, 1, "new"), name);
                return Arg(args, kw, 2, "count") is long n && n >= 0 ? ReplaceCount(s, old, @new, n) : old.Length == 0 ? InsertBetween(s, @new) : s.Replace(old, @new, StringComparison.Ordinal);
            case "find": return (long)s.IndexOf(Text(Arg(args, kw, 0, "sub"), name), StringComparison.Ordinal);
            case "rfind": return (long)s.LastIndexOf(Text(Arg(args, kw, 0, "sub"), name), StringComparison.Ordinal);
            case "count":
                var sub = Text(Arg(args, kw, 0, "sub"), name);
                return sub.Length == 0 ? (long)PythonSemantics.CodePoints(s).Length + 1 : (long)((s.Length - s.Replace(sub, "", StringComparison.Ordinal).Length) / sub.Length);
            case "join": return string.Join(s, PythonSemantics.Iterate(Arg(args, kw, 0, "iterable")).Select(x => Text(x, name)));
            case "isdigit": return s.Length > 0 && s.All(char.IsDigit);
            case "isalpha": return s.Length > 0 && s.All(char.IsLetter);
            case "isspace": return s.Length > 0 && s.All(PythonText.IsWhitespace);
            case "isupper": return s.Any(char.IsLetter) && !s.Any(char.IsLower);
            case "islower": return s.Any(char.IsLetter) && !s.Any(char.IsUpper);
            case "zfill": return s.PadLeft((int)(Arg(args, kw, 0, "width") as long? ?? 0), '0');
        }
        throw new TemplateError($"str has no method '{name}'");
    }

    static string ReplaceCount(string s, string old, string @new, long count)
    {
        var sb = new StringBuilder();
        int at = 0;
        for (long n = 0; n < count && old.Length > 0; n++)
        {
            int i = s.IndexOf(old, at, StringComparison.Ordinal);
            if (i < 0) break;
            sb.Append(s, at, i - at).Append(@new);
            at = i + old.Length;
        }
        return sb.Append(s, at, s.Length - at).ToString();
    }

    static string InsertBetween(string s, string insert) => insert + string.Concat(PythonSemantics.CodePoints(s).Select(c => c + insert));

    /// <summary>str.split: on runs of whitespace (dropping empties) without a separator, else on each separator.</summary>
    static List<object?> Split(string s, object? sep, long maxSplit, bool fromRight)
    {
        if (sep is null)
        {
            var parts = s.Split(PythonText.WhitespaceChars, StringSplitOptions.RemoveEmptyEntries);
            if (maxSplit < 0 || parts.Length <= maxSplit + 1) return [.. parts];
            // Python keeps the rest of the string (its inner whitespace included) as the last part.
            var result = new List<object?>();
            int at = 0;
            if (fromRight) return [.. SplitRightWhitespace(s, maxSplit)];
            for (long n = 0; n < maxSplit; n++)
            {
                while (PythonText.IsWhitespace(s[at])) at++;
                int end = at;
                while (end < s.Length && !PythonText.IsWhitespace(s[end])) end++;
                result.Add(s[at..end]);
                at = end;
            }
            result.Add(s[at..].TrimStart(PythonText.WhitespaceChars));
            return result;
        }
        var separator = Text(sep, "split");
        if (separator.Length == 0) throw new TemplateError("empty separator");
        if (maxSplit < 0) return [.. s.Split(separator)];
        if (!fromRight) return [.. s.Split(separator, checked((int)maxSplit + 1))];
        var pieces = new List<object?>();
        int stop = s.Length;
        for (long n = 0; n < maxSplit; n++)
        {
            int i = s.LastIndexOf(separator, stop - 1 < 0 ? 0 : stop - 1, StringComparison.Ordinal);
            if (i < 0 || i + separator.Length > stop) break;
            pieces.Insert(0, s[(i + separator.Length)..stop]);
            stop = i;
        }
        pieces.Insert(0, s[..stop]);
        return pieces;
    }

    static List<string> SplitRightWhitespace(string s, long maxSplit)
    {
        var result = new List<string>();
        int end = s.Length;
        for (long n = 0; n < maxSplit; n++)
        {
            while (end > 0 && PythonText.IsWhitespace(s[end - 1])) end--;
            int start = end;
            while (start > 0 && !PythonText.IsWhitespace(s[start - 1])) start--;
            result.Insert(0, s[start..end]);
            end = start;
        }
        result.Insert(0, s[..end].TrimEnd(PythonText.WhitespaceChars));
        return result;
    }

    /// <summary>Python's str.title: a letter after a non-letter is upper-cased, every other letter lower-cased.</summary>
    static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            sb.Append(previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousCased = char.IsLetter(c);
        }
        return sb.ToString();
    }
}
