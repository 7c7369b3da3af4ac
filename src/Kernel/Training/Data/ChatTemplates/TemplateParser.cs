namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>
/// Tokens to statements, with jinja2's grammar and operator precedence (lowest first): `a if c else b`, `or`, `and`,
/// `not`, comparisons and `in`, `+ -`, `~`, `* / // %`, `**`, unary `- +`, then postfix `.attr [index] (call)`,
/// filters `|f` and tests `is t`. Tags: if/elif/else, for (with `if` filter and else), set (and block set), macro,
/// break/continue (HF enables jinja2.ext.loopcontrols) and HF's generation block. Unknown filters and tests are syntax
/// errors here, as jinja2 reports them when compiling.
/// </summary>
sealed class TemplateParser(List<TemplateToken> tokens, string origin)
{
    int _i;

    TemplateToken Current => tokens[_i];
    TemplateToken Peek => tokens[Math.Min(_i + 1, tokens.Count - 1)];
    TemplateToken Next() => tokens[_i++];

    public static IReadOnlyList<Statement> Parse(string source, string origin)
    {
        var parser = new TemplateParser(TemplateLexer.Tokenize(source, origin), origin);
        var body = parser.Body([], null);
        return body;
    }

    ChatTemplateException Error(int line, string detail) => new(ChatTemplateErrorReason.Syntax, origin, line, detail);

    ChatTemplateException Expected(string what) => Error(Current.Line, $"expected {what}, found {Current.Describe()}");

    TemplateToken Expect(string op)
    {
        if (!Current.IsOperator(op)) throw Expected($"'{op}'");
        return Next();
    }

    void ExpectBlockEnd(string tag)
    {
        if (Current.Kind != TokenKind.BlockEnd) throw Expected($"'%}}' to end the '{tag}' tag");
        Next();
    }

    string ExpectName(string what)
    {
        if (Current.Kind != TokenKind.Name) throw Expected(what);
        return Next().Text;
    }

    /// <summary>Statements up to a block tag named in <paramref name="ends"/>; leaves the stream after that tag's name.</summary>
    List<Statement> Body(string[] ends, (string Tag, int Line)? opener)
    {
        var body = new List<Statement>();
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.End:
                    if (opener is { } o) throw Error(t.Line, $"expected {Quote(ends)} to close the '{o.Tag}' of line {o.Line}, found the end of the template");
                    return body;
                case TokenKind.Data:
                    body.Add(new TextStatement(Next().Text, t.Line));
                    break;
                case TokenKind.VariableBegin:
                    Next();
                    var value = Tuple(withCondition: true);
                    if (Current.Kind != TokenKind.VariableEnd) throw Expected("'}}' to end the expression");
                    Next();
                    body.Add(new PrintStatement(value, t.Line));
                    break;
                case TokenKind.BlockBegin:
                    Next();
                    if (Current.Kind == TokenKind.Name && ends.Contains(Current.Text))
                    {
                        return body;
                    }
                    body.Add(Statement(opener, ends));
                    break;
                default:
                    throw Expected("template text or a tag");
            }
        }
    }

    static string Quote(string[] names) => string.Join(" or ", names.Select(n => $"'{n}'"));

    Statement Statement((string Tag, int Line)? opener, string[] ends)
    {
        var t = Current;
        if (t.Kind != TokenKind.Name) throw Expected("a tag name");
        Next();
        switch (t.Text)
        {
            case "if": return If(t.Line);
            case "for": return For(t.Line);
            case "set": return Set(t.Line);
            case "macro": return Macro(t.Line);
            case "break" or "continue":
                ExpectBlockEnd(t.Text);
                return new LoopControlStatement(t.Text == "break", t.Line);
            case "generation":
                ExpectBlockEnd(t.Text);
                var body = Body(["endgeneration"], ("generation", t.Line));
                Next();
                ExpectBlockEnd("endgeneration");
                return new GenerationStatement(body, t.Line);
        }
        var expected = opener is { } o ? $"{Quote(ends)} to close the '{o.Tag}' of line {o.Line}" : "a tag (if, for, set, macro, break, continue)";
        throw Error(t.Line, $"expected {expected}, found the tag '{t.Text}'");
    }

    IfStatement If(int line)
    {
        var branches = new List<(Expression, IReadOnlyList<Statement>)>();
        IReadOnlyList<Statement> otherwise = [];
        var test = Tuple(withCondition: false);
        while (true)
        {
            ExpectBlockEnd("if");
            var body = Body(["elif", "else", "endif"], ("if", line));
            branches.Add((test, body));
            var tag = Next().Text;
            if (tag == "elif") { test = Tuple(withCondition: false); continue; }
            if (tag == "else")
            {
                ExpectBlockEnd("else");
                otherwise = Body(["endif"], ("if", line));
                Next();
            }
            ExpectBlockEnd("endif");
            return new IfStatement(branches, otherwise, line);
        }
    }

    ForStatement For(int line)
    {
        var target = Target(allowAttribute: false);
        if (!Current.IsName("in")) throw Expected("'in' after the loop variable");
        Next();
        var iterable = Tuple(withCondition: false);
        Expression? filter = null;
        if (Current.IsName("if")) { Next(); filter = Expression(withCondition: true); }
        if (Current.IsName("recursive")) throw Error(Current.Line, "expected '%}', found 'recursive' (recursive loops are not supported)");
        ExpectBlockEnd("for");
        var body = Body(["endfor", "else"], ("for", line));
        IReadOnlyList<Statement> otherwise = [];
        if (Next().Text == "else")
        {
            ExpectBlockEnd("else");
            otherwise = Body(["endfor"], ("for", line));
            Next();
        }
        ExpectBlockEnd("endfor");
        return new ForStatement(target, iterable, filter, body, otherwise, line);
    }

    Statement Set(int line)
    {
        var target = Target(allowAttribute: true);
        if (Current.IsOperator("="))
        {
            Next();
            var value = Tuple(withCondition: true);
            ExpectBlockEnd("set");
            return new SetStatement(target, value, line);
        }
        if (Current.Kind != TokenKind.BlockEnd) throw Expected("'=' or '%}' after the set target");
        Next();
        var body = Body(["endset"], ("set", line));
        Next();
        ExpectBlockEnd("endset");
        return new SetBlockStatement(target, body, line);
    }

    MacroStatement Macro(int line)
    {
        var name = ExpectName("the macro's name");
        Expect("(");
        var parameters = new List<(string, Expression?)>();
        while (!Current.IsOperator(")"))
        {
            if (parameters.Count > 0) Expect(",");
            if (Current.IsOperator(")")) break;
            var p = ExpectName("a parameter name");
            Expression? d = null;
            if (Current.IsOperator("=")) { Next(); d = Expression(withCondition: true); }
            parameters.Add((p, d));
        }
        Next();
        ExpectBlockEnd("macro");
        var body = Body(["endmacro"], ("macro", line));
        Next();
        if (Current.Kind == TokenKind.Name && Current.Text == name) Next();
        ExpectBlockEnd("endmacro");
        return new MacroStatement(name, parameters, body, line);
    }

    AssignTarget Target(bool allowAttribute)
    {
        var first = ExpectName("a variable name");
        if (allowAttribute && Current.IsOperator("."))
        {
            Next();
            return new AssignTarget([first], ExpectName("an attribute name after '.'"), false);
        }
        var names = new List<string> { first };
        bool tuple = false;
        while (Current.IsOperator(","))
        {
            tuple = true;
            Next();
            if (Current.Kind != TokenKind.Name) break;
            names.Add(Next().Text);
        }
        return new AssignTarget(names, null, tuple);
    }

    /// <summary>An expression, or a tuple when commas follow (`{% set a = 1, 2 %}`).</summary>
    Expression Tuple(bool withCondition)
    {
        int line = Current.Line;
        var first = Expression(withCondition);
        if (!Current.IsOperator(",")) return first;
        var items = new List<Expression> { first };
        while (Current.IsOperator(","))
        {
            Next();
            if (!StartsExpression()) break;
            items.Add(Expression(withCondition));
        }
        return new ListExpression(items, Tuple: true, line);
    }

    bool StartsExpression() => Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
        || Current.IsOperator("(") || Current.IsOperator("[") || Current.IsOperator("{") || Current.IsOperator("-") || Current.IsOperator("+");

    Expression Expression(bool withCondition = true) => withCondition ? Conditional() : Or();

    Expression Conditional()
    {
        var value = Or();
        while (Current.IsName("if"))
        {
            int line = Next().Line;
            var test = Or();
            Expression? otherwise = null;
            if (Current.IsName("else")) { Next(); otherwise = Conditional(); }
            value = new ConditionalExpression(test, value, otherwise, line);
        }
        return value;
    }

    Expression Or()
    {
        var left = And();
        while (Current.IsName("or")) { int line = Next().Line; left = new BinaryExpression("or", left, And(), line); }
        return left;
    }

    Expression And()
    {
        var left = Not();
        while (Current.IsName("and")) { int line = Next().Line; left = new BinaryExpression("and", left, Not(), line); }
        return left;
    }

    Expression Not()
    {
        if (Current.IsName("not")) { int line = Next().Line; return new UnaryExpression("not", Not(), line); }
        return Compare();
    }

    static readonly string[] Comparisons = ["==", "!=", "<", "<=", ">", ">="];

    Expression Compare()
    {
        int line = Current.Line;
        var first = Math1();
        var rest = new List<(string, Expression)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && Comparisons.Contains(Current.Text)) rest.Add((Next().Text, Math1()));
            else if (Current.IsName("in")) { Next(); rest.Add(("in", Math1())); }
            else if (Current.IsName("not") && Peek.IsName("in")) { Next(); Next(); rest.Add(("not in", Math1())); }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpression(first, rest, line);
    }

    Expression Math1()
    {
        var left = Concat();
        while (Current.IsOperator("+") || Current.IsOperator("-")) { var op = Next(); left = new BinaryExpression(op.Text, left, Concat(), op.Line); }
        return left;
    }

    Expression Concat()
    {
        var left = Math2();
        while (Current.IsOperator("~")) { var op = Next(); left = new BinaryExpression("~", left, Math2(), op.Line); }
        return left;
    }

    Expression Math2()
    {
        var left = Pow();
        while (Current.Kind == TokenKind.Operator && Current.Text is "*" or "/" or "//" or "%")
        {
            var op = Next();
            left = new BinaryExpression(op.Text, left, Pow(), op.Line);
        }
        return left;
    }

    Expression Pow()
    {
        var left = Unary(withFilter: true);
        while (Current.IsOperator("**")) { var op = Next(); left = new BinaryExpression("**", left, Unary(withFilter: true), op.Line); }
        return left;
    }

    Expression Unary(bool withFilter)
    {
        Expression node;
        if (Current.IsOperator("-") || Current.IsOperator("+"))
        {
            var op = Next();
            node = new UnaryExpression(op.Text, Unary(withFilter: false), op.Line);
        }
        else node = Primary();
        node = Postfix(node);
        return withFilter ? FiltersAndTests(node) : node;
    }

    Expression Primary()
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                Next();
                return t.Text switch
                {
                    "true" or "True" => new ConstantExpression(true, t.Line),
                    "false" or "False" => new ConstantExpression(false, t.Line),
                    "none" or "None" => new ConstantExpression(null, t.Line),
                    _ => new NameExpression(t.Text, t.Line),
                };
            case TokenKind.String:
                var text = Next().Text;
                while (Current.Kind == TokenKind.String) text += Next().Text;
                return new ConstantExpression(text, t.Line);
            case TokenKind.Integer or TokenKind.Float:
                Next();
                return new ConstantExpression(t.Value, t.Line);
        }
        if (t.IsOperator("("))
        {
            Next();
            if (Current.IsOperator(")")) { Next(); return new ListExpression([], Tuple: true, t.Line); }
            var inner = Tuple(withCondition: true);
            Expect(")");
            return inner;
        }
        if (t.IsOperator("["))
        {
            Next();
            var items = new List<Expression>();
            while (!Current.IsOperator("]"))
            {
                if (items.Count > 0) Expect(",");
                if (Current.IsOperator("]")) break;
                items.Add(Expression());
            }
            Next();
            return new ListExpression(items, Tuple: false, t.Line);
        }
        if (t.IsOperator("{"))
        {
            Next();
            var items = new List<(Expression, Expression)>();
            while (!Current.IsOperator("}"))
            {
                if (items.Count > 0) Expect(",");
                if (Current.IsOperator("}")) break;
                var key = Expression();
                Expect(":");
                items.Add((key, Expression()));
            }
            Next();
            return new DictExpression(items, t.Line);
        }
        throw Expected("an expression");
    }

    Expression Postfix(Expression node)
    {
        while (true)
        {
            var t = Current;
            if (t.IsOperator("."))
            {
                Next();
                if (Current.Kind == TokenKind.Name) node = new AttributeExpression(node, Next().Text, t.Line);
                else if (Current.Kind == TokenKind.Integer) node = new ItemExpression(node, new ConstantExpression(Next().Value, t.Line), t.Line);
                else throw Expected("an attribute name after '.'");
            }
            else if (t.IsOperator("[")) { Next(); node = Subscript(node, t.Line); }
            else if (t.IsOperator("(")) node = Call(node);
            else return node;
        }
    }

    Expression Subscript(Expression target, int line)
    {
        Expression? start = null, stop = null, step = null;
        if (!Current.IsOperator(":"))
        {
            start = Expression();
            if (!Current.IsOperator(":")) { Expect("]"); return new ItemExpression(target, start, line); }
        }
        Next();
        if (!Current.IsOperator("]") && !Current.IsOperator(":")) stop = Expression();
        if (Current.IsOperator(":"))
        {
            Next();
            if (!Current.IsOperator("]")) step = Expression();
        }
        Expect("]");
        return new SliceExpression(target, start, stop, step, line);
    }

    (List<Expression> Args, List<(string, Expression)> Keywords) Arguments()
    {
        Expect("(");
        var args = new List<Expression>();
        var keywords = new List<(string, Expression)>();
        while (!Current.IsOperator(")"))
        {
            if (args.Count + keywords.Count > 0) Expect(",");
            if (Current.IsOperator(")")) break;
            if (Current.Kind == TokenKind.Name && Peek.IsOperator("="))
            {
                var name = Next().Text;
                Next();
                keywords.Add((name, Expression()));
            }
            else
            {
                if (keywords.Count > 0) throw Expected("a keyword argument (positional arguments come first)");
                args.Add(Expression());
            }
        }
        Next();
        return (args, keywords);
    }

    CallExpression Call(Expression function)
    {
        int line = Current.Line;
        var (args, keywords) = Arguments();
        return new CallExpression(function, args, keywords, line);
    }

    Expression FiltersAndTests(Expression node)
    {
        while (true)
        {
            var t = Current;
            if (t.IsOperator("|"))
            {
                Next();
                var name = DottedName("a filter name after '|'");
                if (!TemplateFilters.Exists(name)) throw Error(t.Line, $"expected a known filter after '|', found '{name}'");
                var (args, keywords) = Current.IsOperator("(") ? Arguments() : ([], []);
                node = new FilterExpression(node, name, args, keywords, t.Line);
            }
            else if (t.IsName("is"))
            {
                Next();
                bool negated = false;
                if (Current.IsName("not")) { Next(); negated = true; }
                var name = DottedName("a test name after 'is'");
                if (!TemplateTests.Exists(name)) throw Error(t.Line, $"expected a known test after 'is', found '{name}'");
                List<Expression> args = [];
                if (Current.IsOperator("(")) args = Arguments().Args;
                else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                          || Current.IsOperator("(") || Current.IsOperator("[") || Current.IsOperator("{"))
                         && !Current.IsName("else") && !Current.IsName("or") && !Current.IsName("and"))
                    args = [Postfix(Primary())];
                node = new TestExpression(node, name, args, negated, t.Line);
            }
            else if (t.IsOperator("(")) node = Call(node);
            else return node;
        }
    }

    string DottedName(string what)
    {
        var name = ExpectName(what);
        while (Current.IsOperator(".") && Peek.Kind == TokenKind.Name) { Next(); name += "." + Next().Text; }
        return name;
    }
}
