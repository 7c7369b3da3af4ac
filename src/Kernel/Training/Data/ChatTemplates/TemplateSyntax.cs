namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>The parsed template: statements (what renders) and expressions (what evaluates), each with its source line.</summary>
abstract record Statement(int Line);

sealed record TextStatement(string Text, int Line) : Statement(Line);
sealed record PrintStatement(Expression Value, int Line) : Statement(Line);
sealed record IfStatement(IReadOnlyList<(Expression Test, IReadOnlyList<Statement> Body)> Branches, IReadOnlyList<Statement> Else, int Line) : Statement(Line);
sealed record ForStatement(AssignTarget Target, Expression Iterable, Expression? Filter, IReadOnlyList<Statement> Body, IReadOnlyList<Statement> Else, int Line) : Statement(Line);
sealed record SetStatement(AssignTarget Target, Expression Value, int Line) : Statement(Line);
sealed record SetBlockStatement(AssignTarget Target, IReadOnlyList<Statement> Body, int Line) : Statement(Line);
sealed record MacroStatement(string Name, IReadOnlyList<(string Name, Expression? Default)> Parameters, IReadOnlyList<Statement> Body, int Line) : Statement(Line);
sealed record LoopControlStatement(bool IsBreak, int Line) : Statement(Line);
/// <summary>HF's `{% generation %}` marks assistant text for return_assistant_tokens_mask; rendering it is its body.</summary>
sealed record GenerationStatement(IReadOnlyList<Statement> Body, int Line) : Statement(Line);

/// <summary>Where `set` or `for` stores: one name, several names (unpacking), or `namespace.attribute`.</summary>
sealed record AssignTarget(IReadOnlyList<string> Names, string? Attribute, bool Tuple)
{
    public override string ToString() => Attribute is null ? string.Join(", ", Names) : $"{Names[0]}.{Attribute}";
}

abstract record Expression(int Line);

sealed record ConstantExpression(object? Value, int Line) : Expression(Line);
sealed record NameExpression(string Name, int Line) : Expression(Line);
sealed record ListExpression(IReadOnlyList<Expression> Items, bool Tuple, int Line) : Expression(Line);
sealed record DictExpression(IReadOnlyList<(Expression Key, Expression Value)> Items, int Line) : Expression(Line);
sealed record AttributeExpression(Expression Target, string Name, int Line) : Expression(Line);
sealed record ItemExpression(Expression Target, Expression Index, int Line) : Expression(Line);
sealed record SliceExpression(Expression Target, Expression? Start, Expression? Stop, Expression? Step, int Line) : Expression(Line);
sealed record CallExpression(Expression Function, IReadOnlyList<Expression> Arguments, IReadOnlyList<(string Name, Expression Value)> Keywords, int Line) : Expression(Line);
sealed record FilterExpression(Expression Value, string Name, IReadOnlyList<Expression> Arguments, IReadOnlyList<(string Name, Expression Value)> Keywords, int Line) : Expression(Line);
sealed record TestExpression(Expression Value, string Name, IReadOnlyList<Expression> Arguments, bool Negated, int Line) : Expression(Line);
sealed record UnaryExpression(string Operator, Expression Operand, int Line) : Expression(Line);
sealed record BinaryExpression(string Operator, Expression Left, Expression Right, int Line) : Expression(Line);
/// <summary>A comparison chain `a &lt; b &lt;= c` (Python semantics: each pair, stopping at the first false).</summary>
sealed record CompareExpression(Expression First, IReadOnlyList<(string Operator, Expression Operand)> Rest, int Line) : Expression(Line);
sealed record ConditionalExpression(Expression Test, Expression Then, Expression? Else, int Line) : Expression(Line);
