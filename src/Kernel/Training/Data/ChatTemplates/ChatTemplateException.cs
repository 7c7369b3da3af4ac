namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>Why a chat template could not be rendered.</summary>
public enum ChatTemplateErrorReason
{
    /// <summary>The template text is not valid Jinja (or uses a tag, filter or test this interpreter lacks).</summary>
    Syntax,
    /// <summary>Rendering failed: an undefined value used, a type error, a forbidden attribute.</summary>
    Runtime,
    /// <summary>The template called HF's <c>raise_exception(message)</c>, e.g. because roles do not alternate.</summary>
    Raised,
}

/// <summary>
/// The one exception for chat templates: a sentence naming the template's origin (a file, or "tokenizer_config.json
/// chat_template"), its line and what was expected against what was found. A FormatException, so the CLI and the magic
/// report it as bad input in one line.
/// </summary>
public sealed class ChatTemplateException(ChatTemplateErrorReason reason, string origin, int line, string detail, string? templateMessage = null)
    : FormatException($"{origin} line {line}: {detail}")
{
    public ChatTemplateErrorReason Reason { get; } = reason;
    public string Origin { get; } = origin;
    public int Line { get; } = line;
    public string Detail { get; } = detail;
    /// <summary>The message the template passed to raise_exception, when <see cref="Reason"/> is Raised.</summary>
    public string? TemplateMessage { get; } = templateMessage;
}
