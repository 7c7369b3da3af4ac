namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>
/// Splits template text into tokens the way jinja2's lexer does under HF's settings (trim_blocks, lstrip_blocks,
/// keep_trailing_newline off): newlines normalised to \n and one trailing newline dropped; `{%-`/`{{-`/`{#-` strip all
/// whitespace before the tag and `-%}`/`-}}`/`-#}` all after it; trim_blocks drops the one \n after `%}` or `#}`;
/// lstrip_blocks drops spaces and tabs between a line's start and a `{%` or `{#` (not `{{`), unless the tag opens with
/// `+`. Inside a tag an end delimiter only counts when brackets are balanced (so `{{ {'a': 1}}}` is a dict).
/// </summary>
sealed class TemplateLexer(string source, string origin)
{
    readonly string _s = Normalize(source);
    readonly List<TemplateToken> _tokens = [];
    int _pos, _line = 1;

    public static List<TemplateToken> Tokenize(string source, string origin) => new TemplateLexer(source, origin).Run();

    static string Normalize(string source)
    {
        var s = source.Replace("\r\n", "\n").Replace('\r', '\n');
        return s.EndsWith('\n') ? s[..^1] : s;
    }

    List<TemplateToken> Run()
    {
        bool lineStarting = true;
        while (_pos < _s.Length)
        {
            int open = NextOpener(_pos);
            if (open < 0)
            {
                Emit(TokenKind.Data, _s[_pos..]);
                break;
            }
            string text = _s[_pos..open];
            char kind = _s[open + 1];
            char sign = open + 2 < _s.Length && _s[open + 2] is '-' or '+' ? _s[open + 2] : '\0';
            int textLines = Count(text);
            text = Strip(text, sign, kind == '{', lineStarting);
            if (text.Length > 0) _tokens.Add(new TemplateToken(TokenKind.Data, text, _line));
            _line += textLines;
            _pos = open + 2 + (sign == '\0' ? 0 : 1);
            if (kind == '%' && RawBegin.Match(_s, _pos) is { Success: true } raw)
            {
                lineStarting = Raw(raw);
                continue;
            }
            lineStarting = kind switch
            {
                '#' => Comment(),
                '%' => Tag(TokenKind.BlockBegin, TokenKind.BlockEnd, "%}", open),
                _ => Tag(TokenKind.VariableBegin, TokenKind.VariableEnd, "}}", open),
            };
        }
        _tokens.Add(new TemplateToken(TokenKind.End, "", _line));
        return _tokens;
    }

    /// <summary>Whitespace control before a tag: `-` strips all whitespace, else lstrip_blocks strips a block or comment tag's indentation.</summary>
    static string Strip(string text, char sign, bool variable, bool lineStarting)
    {
        if (sign == '-') return text.TrimEnd(PythonText.WhitespaceChars);
        if (sign == '+' || variable) return text;
        int lineStart = text.LastIndexOf('\n') + 1;
        return (lineStart > 0 || lineStarting) && lineStart < text.Length && text.AsSpan(lineStart).IndexOfAnyExcept(PythonText.WhitespaceChars) < 0
            ? text[..lineStart] : text;
    }

    // jinja2: no trim_blocks newline after `{% raw %}`; `{% endraw %}` is a block end like any other.
    static readonly System.Text.RegularExpressions.Regex RawBegin = new(@"\G\s*raw\s*(?:-%\}\s*|%\})");
    static readonly System.Text.RegularExpressions.Regex RawEnd = new(@"\{%([-+]?)\s*endraw\s*(?:\+%\}|-%\}\s*|%\}\n?)");

    /// <summary>`{% raw %}...{% endraw %}`: the text between is data, tags and all.</summary>
    bool Raw(System.Text.RegularExpressions.Match begin)
    {
        int line = _line;
        _line += Count(begin.Value);
        _pos += begin.Length;
        bool lineStarting = begin.Value.EndsWith('\n');
        var end = RawEnd.Match(_s, _pos);
        if (!end.Success) throw new ChatTemplateException(ChatTemplateErrorReason.Syntax, origin, line, "expected '{% endraw %}' to close the 'raw' block, found the end of the template");
        var text = _s[_pos..end.Index];
        int lines = Count(text);
        text = Strip(text, end.Groups[1].Value is [char c] ? c : '\0', variable: false, lineStarting);
        if (text.Length > 0) _tokens.Add(new TemplateToken(TokenKind.Data, text, _line));
        _line += lines + Count(end.Value);
        _pos = end.Index + end.Length;
        return end.Value.EndsWith('\n');
    }

    int NextOpener(int from)
    {
        for (int i = _s.IndexOf('{', from); i >= 0 && i + 1 < _s.Length; i = _s.IndexOf('{', i + 1))
            if (_s[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    void Emit(TokenKind kind, string text)
    {
        if (text.Length > 0) _tokens.Add(new TemplateToken(kind, text, _line));
        _line += Count(text);
    }

    static int Count(ReadOnlySpan<char> text) => text.Count('\n');

    /// <summary>Skips a comment; returns whether what it consumed ends a line.</summary>
    bool Comment()
    {
        int startLine = _line;
        int end = _s.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (end < 0) throw new ChatTemplateException(ChatTemplateErrorReason.Syntax, origin, startLine, "expected '#}' to end the comment, found the end of the template");
        _line += Count(_s.AsSpan(_pos, end - _pos));
        char before = end > _pos ? _s[end - 1] : '\0';
        _pos = end + 2;
        return After(before);
    }

    /// <summary>What follows an end delimiter: `-` eats all whitespace, `+` nothing, else trim_blocks eats one \n (blocks and comments only).</summary>
    bool After(char sign, bool trimBlocks = true)
    {
        int start = _pos;
        if (sign == '-')
            while (_pos < _s.Length && PythonText.IsWhitespace(_s[_pos])) _pos++;
        else if (sign != '+' && trimBlocks && _pos < _s.Length && _s[_pos] == '\n') _pos++;
        _line += Count(_s.AsSpan(start, _pos - start));
        return _pos > start && _s[_pos - 1] == '\n';
    }

    bool Tag(TokenKind begin, TokenKind endKind, string end, int open)
    {
        _tokens.Add(new TemplateToken(begin, _s.Substring(open, 2), _line));
        var brackets = new Stack<char>();
        bool block = endKind == TokenKind.BlockEnd;
        while (true)
        {
            while (_pos < _s.Length && PythonText.IsWhitespace(_s[_pos]))
            {
                if (_s[_pos] == '\n') _line++;
                _pos++;
            }
            if (_pos >= _s.Length)
                throw new ChatTemplateException(ChatTemplateErrorReason.Syntax, origin, _line, $"expected '{end}' to close the tag, found the end of the template");
            if (brackets.Count == 0)
            {
                char sign = _s[_pos] is '-' or '+' ? _s[_pos] : '\0';
                if ((sign == '-' || (sign == '+' && block)) && string.CompareOrdinal(_s, _pos + 1, end, 0, 2) == 0)
                {
                    _tokens.Add(new TemplateToken(endKind, end, _line));
                    _pos += 3;
                    return After(sign);
                }
                if (string.CompareOrdinal(_s, _pos, end, 0, 2) == 0)
                {
                    _tokens.Add(new TemplateToken(endKind, end, _line));
                    _pos += 2;
                    return After('\0', trimBlocks: block);
                }
            }
            char c = _s[_pos];
            if (char.IsLetter(c) || c == '_') Name();
            else if (char.IsAsciiDigit(c)) Number();
            else if (c is '\'' or '"') String(c);
            else Operator(brackets);
        }
    }

    void Name()
    {
        int start = _pos;
        while (_pos < _s.Length && (char.IsLetterOrDigit(_s[_pos]) || _s[_pos] == '_')) _pos++;
        _tokens.Add(new TemplateToken(TokenKind.Name, _s[start.._pos], _line));
    }

    void Number()
    {
        int start = _pos;
        Digits();
        bool isFloat = false;
        if (_pos + 1 < _s.Length && _s[_pos] == '.' && char.IsAsciiDigit(_s[_pos + 1]) && (start == 0 || _s[start - 1] != '.'))
        {
            isFloat = true;
            _pos++;
            Digits();
        }
        if (_pos < _s.Length && _s[_pos] is 'e' or 'E' && (start == 0 || _s[start - 1] != '.'))
        {
            int save = _pos++;
            if (_pos < _s.Length && _s[_pos] is '+' or '-') _pos++;
            if (_pos < _s.Length && char.IsAsciiDigit(_s[_pos])) { Digits(); isFloat = true; }
            else _pos = save;
        }
        var text = _s[start.._pos].Replace("_", "");
        object value = isFloat ? (object)double.Parse(text, CultureInfo.InvariantCulture)
            : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? (object)l
            : throw new ChatTemplateException(ChatTemplateErrorReason.Syntax, origin, _line, $"expected an integer that fits 64 bits, found {text}");
        _tokens.Add(new TemplateToken(isFloat ? TokenKind.Float : TokenKind.Integer, text, _line, value));
    }

    void Digits()
    {
        while (_pos < _s.Length && (char.IsAsciiDigit(_s[_pos]) || (_s[_pos] == '_' && _pos + 1 < _s.Length && char.IsAsciiDigit(_s[_pos + 1])))) _pos++;
    }

    /// <summary>A quoted string, its escapes decoded as Python's unicode-escape codec does (unknown escapes stay as written).</summary>
    void String(char quote)
    {
        int line = _line;
        var sb = new StringBuilder();
        _pos++;
        while (true)
        {
            if (_pos >= _s.Length) throw new ChatTemplateException(ChatTemplateErrorReason.Syntax, origin, line, $"expected {quote} to close the string, found the end of the template");
            char c = _s[_pos++];
            if (c == quote) break;
            if (c == '\n') _line++;
            if (c != '\\' || _pos >= _s.Length) { sb.Append(c); continue; }
            char e = _s[_pos++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case '\n': _line++; break;
                case 'x': sb.Append(Hex(2, line)); break;
                case 'u': sb.Append(Hex(4, line)); break;
                case 'U': sb.Append(Hex(8, line)); break;
                case >= '0' and <= '7':
                    int v = e - '0';
                    for (int k = 0; k < 2 && _pos < _s.Length && _s[_pos] is >= '0' and <= '7'; k++) v = v * 8 + (_s[_pos++] - '0');
                    sb.Append((char)v);
                    break;
                default: sb.Append('\\').Append(e); break;
            }
        }
        _tokens.Add(new TemplateToken(TokenKind.String, sb.ToString(), line));
    }

    string Hex(int digits, int line)
    {
        if (_pos + digits > _s.Length || !int.TryParse(_s.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
            throw new ChatTemplateException(ChatTemplateErrorReason.Syntax, origin, line, $"expected {digits} hex digits after a \\{(digits == 2 ? 'x' : digits == 4 ? 'u' : 'U')} escape, found '{_s.Substring(_pos, Math.Min(digits, _s.Length - _pos))}'");
        _pos += digits;
        return char.ConvertFromUtf32(code);
    }

    static readonly string[] Operators = ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    void Operator(Stack<char> brackets)
    {
        var op = Operators.FirstOrDefault(o => string.CompareOrdinal(_s, _pos, o, 0, o.Length) == 0)
            ?? throw new ChatTemplateException(ChatTemplateErrorReason.Syntax, origin, _line, $"expected an expression or the end of the tag, found the character '{_s[_pos]}'");
        switch (op)
        {
            case "(": brackets.Push(')'); break;
            case "[": brackets.Push(']'); break;
            case "{": brackets.Push('}'); break;
            case ")" or "]" or "}":
                if (brackets.Count == 0) throw new ChatTemplateException(ChatTemplateErrorReason.Syntax, origin, _line, $"expected an expression, found an unmatched '{op}'");
                char expected = brackets.Pop();
                if (expected != op[0]) throw new ChatTemplateException(ChatTemplateErrorReason.Syntax, origin, _line, $"expected '{expected}', found '{op}'");
                break;
        }
        _tokens.Add(new TemplateToken(TokenKind.Operator, op, _line));
        _pos += op.Length;
    }
}
