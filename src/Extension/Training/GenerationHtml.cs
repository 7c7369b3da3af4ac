using System.Net;
using Ckpt.Models;

namespace Ckpt.Extension.Training;

/// <summary>
/// What `#!ckpt-generate` shows: the prompt, the continuation after it, and one line of how it was generated. The
/// continuation carries its token ids in `data-ids`, for readers and tests; every value is escaped.
/// </summary>
static class GenerationHtml
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Html(string prompt, GenerationCompleted done)
    {
        var row = done.Rows[0];
        return "<div class=\"ckpt-generate\" style=\"white-space: pre-wrap\">" +
               $"<span class=\"ckpt-prompt\" style=\"opacity: 0.6\">{Encode(prompt)}</span>" +
               $"<span class=\"ckpt-continuation\" data-ids=\"{string.Join(' ', row.Sequence.Tokens)}\"><b>{Encode(Continuation(row))}</b></span>" +
               $"</div><p class=\"ckpt-summary\">{Encode(Summary(done))}</p>";
    }

    public static string PlainText(string prompt, GenerationCompleted done) =>
        $"{prompt}{Continuation(done.Rows[0])}\n-- {Summary(done)}";

    /// <summary>The decoded text; the ids when the tokenizer decoded none (Generation.Run has one for a text prompt).</summary>
    static string Continuation(GeneratedRow row) => row.Text ?? string.Join(' ', row.Sequence.Tokens);

    static string Summary(GenerationCompleted done)
    {
        var s = done.Rows[0].Sequence;
        return string.Create(Invariant, $"{s.Tokens.Length} tokens ({s.FinishReason}), {s.TokensPerSecond:F1} tokens/s, " +
            $"{(done.Settings.DoSample ? $"sampled (seed {done.Settings.Seed})" : "greedy")}, {done.ModelType} in {done.ComputeDType} on {done.Device}, " +
            $"loaded in {done.LoadTime.TotalSeconds:F2} s");
    }

    static string Encode(string s) => WebUtility.HtmlEncode(s);
}
