namespace Ckpt.Errors;

/// <summary>
/// Shows the control characters of a name (C0, DEL, C1, and the Unicode line and paragraph separators) as escapes,
/// so text from a file or a path stays on one line and cannot drive a terminal: a newline reads <c>\n</c>, an escape
/// <c>\u001B</c>. Everything else, non-ASCII letters included, is kept as it is.
/// </summary>
public static class ControlCharacters
{
    public static string Escape(string text)
    {
        int first = 0;
        while (first < text.Length && !IsControl(text[first])) first++;
        if (first == text.Length) return text;
        var sb = new StringBuilder(text.Length + 16).Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (!IsControl(c)) { sb.Append(c); continue; }
            sb.Append(c switch
            {
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                _ => $@"\u{(int)c:X4}",
            });
        }
        return sb.ToString();
    }

    static bool IsControl(char c) => c < 0x20 || c is >= '\u007F' and <= '\u009F' or '\u2028' or '\u2029';
}
