namespace Ckpt.Training.Data.ChatTemplates;

enum TokenKind { Data, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, End }

/// <summary>One lexeme with the 1-based line it starts on. Operators keep their text in <see cref="Text"/>.</summary>
readonly record struct TemplateToken(TokenKind Kind, string Text, int Line, object? Value = null)
{
    public bool Is(TokenKind kind, string text) => Kind == kind && Text == text;
    public bool IsOperator(string op) => Kind == TokenKind.Operator && Text == op;
    public bool IsName(string name) => Kind == TokenKind.Name && Text == name;

    /// <summary>How an error message names this token.</summary>
    public string Describe() => Kind switch
    {
        TokenKind.End => "the end of the template",
        TokenKind.Data => "template text",
        TokenKind.VariableEnd => "'}}'",
        TokenKind.BlockEnd => "'%}'",
        TokenKind.VariableBegin => "'{{'",
        TokenKind.BlockBegin => "'{%'",
        TokenKind.String => "a string",
        _ => $"'{Text}'",
    };
}
