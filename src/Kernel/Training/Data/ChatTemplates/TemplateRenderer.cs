using static Ckpt.Training.Data.ChatTemplates.PythonSemantics;

namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>
/// Walks the parsed statements and writes the output. Scoping follows jinja2: a for loop's body gets a fresh scope
/// each iteration (a `set` inside a loop is gone at the next iteration and after the loop; that is why namespace()
/// exists), `if` adds no scope, a macro call gets its own. Any <see cref="TemplateError"/> leaves as a
/// <see cref="ChatTemplateException"/> naming the template's origin and the line of the failing expression.
/// </summary>
sealed class TemplateRenderer(string origin, IReadOnlyDictionary<string, object?> globals)
{
    /// <summary>A variable scope; lookups walk out to the template's globals.</summary>
    sealed class Scope(Scope? parent)
    {
        public readonly Dictionary<string, object?> Variables = new(StringComparer.Ordinal);
        public Scope? Parent => parent;
    }

    enum Flow { Normal, Break, Continue }

    int _loopDepth;
    int _calls;
    long _steps;

    /// <summary>Statements a render may run and characters it may write: a template is data from a model repository, so a runaway one stops with an error.</summary>
    public const long MaxSteps = 10_000_000, MaxOutput = 64 << 20;

    public string Render(IReadOnlyList<Statement> template)
    {
        var sb = new StringBuilder();
        Run(template, new Scope(null), sb);
        return sb.ToString();
    }

    Flow Run(IReadOnlyList<Statement> body, Scope scope, StringBuilder output)
    {
        foreach (var statement in body)
        {
            var flow = Run(statement, scope, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    Flow Run(Statement statement, Scope scope, StringBuilder output)
    {
        if (++_steps > MaxSteps) throw Fail(statement.Line, $"the template ran more than {MaxSteps:N0} steps");
        if (output.Length > MaxOutput) throw Fail(statement.Line, $"the template wrote more than {MaxOutput:N0} characters");
        switch (statement)
        {
            case TextStatement t:
                output.Append(t.Text);
                return Flow.Normal;
            case PrintStatement p:
                output.Append(PythonText.Str(Eval(p.Value, scope)));
                return Flow.Normal;
            case IfStatement i:
                foreach (var (test, body) in i.Branches)
                    if (Truthy(Eval(test, scope))) return Run(body, scope, output);
                return Run(i.Else, scope, output);
            case ForStatement f:
                return For(f, scope, output);
            case SetStatement s:
                Assign(s.Target, Eval(s.Value, scope), scope, s.Line);
                return Flow.Normal;
            case SetBlockStatement b:
                var captured = new StringBuilder();
                Run(b.Body, scope, captured);
                Assign(b.Target, captured.ToString(), scope, b.Line);
                return Flow.Normal;
            case MacroStatement m:
                scope.Variables[m.Name] = Macro(m, scope);
                return Flow.Normal;
            case LoopControlStatement c:
                if (_loopDepth == 0) throw Fail(c.Line, $"expected '{(c.IsBreak ? "break" : "continue")}' inside a for loop, found it outside one");
                return c.IsBreak ? Flow.Break : Flow.Continue;
            case GenerationStatement g:
                return Run(g.Body, scope, output);
        }
        throw Fail(statement.Line, $"unknown statement {statement.GetType().Name}");
    }

    Flow For(ForStatement f, Scope scope, StringBuilder output)
    {
        var iterable = Eval(f.Iterable, scope);
        IReadOnlyList<object?> items;
        try { items = Iterate(iterable); }
        catch (TemplateError e) { throw Fail(f.Line, e); }
        if (f.Filter is { } filter)
            items = items.Where(item =>
            {
                var s = new Scope(scope);
                Assign(f.Target, item, s, f.Line);
                return Truthy(Eval(filter, s));
            }).ToList();
        var loop = new LoopContext(items);
        _loopDepth++;
        try
        {
            for (int i = 0; i < items.Count; i++)
            {
                if (++_steps > MaxSteps) throw Fail(f.Line, $"the template ran more than {MaxSteps:N0} steps");
                loop.Index0 = i;
                var s = new Scope(scope);
                s.Variables["loop"] = loop;
                Assign(f.Target, items[i], s, f.Line);
                if (Run(f.Body, s, output) == Flow.Break) break;
            }
        }
        finally { _loopDepth--; }
        if (items.Count == 0) return Run(f.Else, scope, output);
        return Flow.Normal;
    }

    void Assign(AssignTarget target, object? value, Scope scope, int line)
    {
        if (target.Attribute is { } attribute)
        {
            if (Lookup(target.Names[0], scope) is not TemplateNamespace ns)
                throw Fail(line, $"expected a namespace() to set '{target}' on, found {Article(Lookup(target.Names[0], scope))}");
            ns.Attributes[attribute] = value;
            return;
        }
        if (!target.Tuple)
        {
            scope.Variables[target.Names[0]] = value;
            return;
        }
        var items = value is string ? null : value as IList<object?> ?? (value is OrderedDictionary<string, object?> d ? [.. d.Keys] : null);
        if (items is null || items.Count != target.Names.Count)
            throw Fail(line, $"expected {target.Names.Count} values to unpack into '{target}', found {(items is null ? Article(value) : items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        for (int i = 0; i < items.Count; i++) scope.Variables[target.Names[i]] = items[i];
    }

    object? Lookup(string name, Scope scope)
    {
        for (var s = scope; s is not null; s = s.Parent)
            if (s.Variables.TryGetValue(name, out var v)) return v;
        return globals.TryGetValue(name, out var g) ? g : Undefined.Name(name);
    }

    TemplateFunction Macro(MacroStatement m, Scope defining) => new(m.Name, (args, kw, line) =>
    {
        if (++_calls > 1000) throw new TemplateError("macro calls nest more than 1000 deep");
        try
        {
            var s = new Scope(defining);
            if (args.Count > m.Parameters.Count) throw new TemplateError($"macro '{m.Name}' takes {m.Parameters.Count} arguments, found {args.Count}");
            for (int i = 0; i < m.Parameters.Count; i++)
            {
                var (name, fallback) = m.Parameters[i];
                s.Variables[name] = i < args.Count ? args[i] : kw.TryGetValue(name, out var v) ? v : fallback is null ? Undefined.Name(name) : Eval(fallback, s);
            }
            var sb = new StringBuilder();
            int depth = _loopDepth;
            _loopDepth = 0;
            try { Run(m.Body, s, sb); }
            finally { _loopDepth = depth; }
            return sb.ToString();
        }
        finally { _calls--; }
    });

    ChatTemplateException Fail(int line, string detail) => new(ChatTemplateErrorReason.Runtime, origin, line, detail);

    ChatTemplateException Fail(int line, TemplateError e) => new(e.Reason, origin, line, e.Message, e.TemplateMessage);

    object? Eval(Expression e, Scope scope)
    {
        try { return Evaluate(e, scope); }
        catch (TemplateError error) { throw Fail(e.Line, error); }
        catch (OverflowException) { throw Fail(e.Line, "an integer does not fit 64 bits"); }
    }

    object? Evaluate(Expression e, Scope scope)
    {
        switch (e)
        {
            case ConstantExpression c: return c.Value;
            case NameExpression n: return Lookup(n.Name, scope);
            case ListExpression l:
                var items = l.Items.Select(x => Eval(x, scope)).ToList();
                return l.Tuple ? items.ToArray() : items;
            case DictExpression d:
                var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (k, v) in d.Items)
                    dict[Eval(k, scope) as string ?? throw new TemplateError("dict keys in a template must be strings")] = Eval(v, scope);
                return dict;
            case AttributeExpression a: return TemplateMethods.Attribute(Eval(a.Target, scope), a.Name);
            case ItemExpression i: return Item(Eval(i.Target, scope), Eval(i.Index, scope));
            case SliceExpression s:
                return Slice(Eval(s.Target, scope), Optional(s.Start, scope), Optional(s.Stop, scope), Optional(s.Step, scope));
            case CallExpression c:
                var function = Eval(c.Function, scope);
                var args = c.Arguments.Select(x => Eval(x, scope)).ToList();
                var keywords = c.Keywords.ToDictionary(k => k.Name, k => Eval(k.Value, scope));
                return Defined(function) is TemplateFunction callable
                    ? callable.Invoke(args, keywords, c.Line)
                    : throw new TemplateError($"expected something callable, found {Article(function)}");
            case FilterExpression f:
                return TemplateFilters.Apply(f.Name, Eval(f.Value, scope), f.Arguments.Select(x => Eval(x, scope)).ToList(),
                    f.Keywords.ToDictionary(k => k.Name, k => Eval(k.Value, scope)));
            case TestExpression t:
                return TemplateTests.Apply(t.Name, Eval(t.Value, scope), t.Arguments.Select(x => Eval(x, scope)).ToList()) != t.Negated;
            case UnaryExpression u:
                var operand = Eval(u.Operand, scope);
                return u.Operator switch
                {
                    "not" => !Truthy(operand),
                    "-" => Negate(operand),
                    _ => Defined(operand) is long or double or bool ? operand is bool b ? (b ? 1L : 0L) : operand : throw new TemplateError($"unary '+' expects a number, found {Article(operand)}"),
                };
            case BinaryExpression b:
                switch (b.Operator)
                {
                    case "and": { var left = Eval(b.Left, scope); return Truthy(left) ? Eval(b.Right, scope) : left; }
                    case "or": { var left = Eval(b.Left, scope); return Truthy(left) ? left : Eval(b.Right, scope); }
                    case "~": return PythonText.Str(Eval(b.Left, scope)) + PythonText.Str(Eval(b.Right, scope));
                    case "+": return Add(Eval(b.Left, scope), Eval(b.Right, scope));
                    default: return Arithmetic(b.Operator, Eval(b.Left, scope), Eval(b.Right, scope));
                }
            case CompareExpression c:
                var current = Eval(c.First, scope);
                foreach (var (op, right) in c.Rest)
                {
                    var next = Eval(right, scope);
                    bool ok = op switch
                    {
                        "==" => PythonSemantics.Equals(current, next),
                        "!=" => !PythonSemantics.Equals(current, next),
                        "<" => Order(current, next, op) < 0,
                        "<=" => Order(current, next, op) <= 0,
                        ">" => Order(current, next, op) > 0,
                        ">=" => Order(current, next, op) >= 0,
                        "in" => Contains(next, current),
                        _ => !Contains(next, current),
                    };
                    if (!ok) return false;
                    current = next;
                }
                return true;
            case ConditionalExpression c:
                return Truthy(Eval(c.Test, scope)) ? Eval(c.Then, scope)
                    : c.Else is { } otherwise ? Eval(otherwise, scope) : new Undefined("the conditional expression has no else branch");
        }
        throw new TemplateError($"unknown expression {e.GetType().Name}");
    }

    object? Optional(Expression? e, Scope scope) => e is null ? null : Eval(e, scope);
}
