using Ckpt.Training.Data;

namespace Ckpt.Models;

/// <summary>
/// Decoded text as tokens arrive (as transformers' TextStreamer): the tokens so far are decoded again and what extends
/// the text already shown is passed on. A piece ending in U+FFFD is held back: a multi-byte character split over
/// byte-fallback tokens decodes to it until its last byte arrives.
/// </summary>
sealed class TextStream(TextTokenizer tokenizer, IReadOnlyList<int> eosTokenIds, Action<string> emit)
{
    readonly List<int> _tokens = [];
    string _shown = "";

    public void Add(int token)
    {
        if (eosTokenIds.Contains(token)) return;
        _tokens.Add(token);
        var text = tokenizer.Decode(_tokens);
        if (text.Length > _shown.Length && text.StartsWith(_shown, StringComparison.Ordinal) && !text.EndsWith('\uFFFD')) Show(text);
    }

    /// <summary>Shows what is left of the final <paramref name="text"/> (held-back pieces, or all of it if decoding rewrote the start).</summary>
    public void Finish(string text)
    {
        if (text.StartsWith(_shown, StringComparison.Ordinal)) { if (text.Length > _shown.Length) Show(text); }
        else emit("\n" + text);
    }

    void Show(string text)
    {
        emit(text[_shown.Length..]);
        _shown = text;
    }
}
