namespace Ckpt.Forensics.Restor;

/// <summary>
/// Whether a model's greedy continuation gives one of a fact's answers. RESTOR cuts each generation at its first
/// newline (evaluation/eval_utils.py) and asks GPT-3.5 whether that output is "sufficiently relevant to at least one
/// of the acceptable answers" (chat_gpt_prompts/v1.txt). Ckpt cannot call a judge, so it keeps the cut and replaces the
/// judge by a rule that anyone can re-run: both texts are normalised much as SQuAD's evaluation does (lower
/// case, the articles a/an/the dropped, whitespace collapsed; but every character that is not a letter or digit becomes
/// a space, where SQuAD deletes punctuation, so "New-York" matches "new york"), and the output is accepted when it
/// equals an acceptable answer or begins with one at a word boundary ("paris, the capital" gives "paris"; "parisian"
/// does not). It is stricter than the judge: a paraphrase ("military personnel" for "military leader") is rejected.
/// </summary>
public static class AnswerMatching
{
    /// <summary>The text a model answered with: its generation up to the first newline.</summary>
    public static string Cut(string generated)
    {
        int newline = generated.IndexOf('\n');
        return newline < 0 ? generated : generated[..newline];
    }

    public static string Normalize(string text)
    {
        var spaced = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant()) spaced.Append(char.IsLetterOrDigit(c) ? c : ' ');
        var words = spaced.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w is not ("a" or "an" or "the"));
        return string.Join(' ', words);
    }

    /// <summary>Whether <paramref name="generated"/> (cut at its first newline) gives one of <paramref name="answers"/>.</summary>
    public static bool Matches(string generated, IEnumerable<string> answers)
    {
        var output = Normalize(Cut(generated));
        if (output.Length == 0) return false;
        foreach (var answer in answers)
        {
            var a = Normalize(answer);
            if (a.Length == 0) continue;
            if (output == a || output.StartsWith(a + " ", StringComparison.Ordinal)) return true;
        }
        return false;
    }
}
