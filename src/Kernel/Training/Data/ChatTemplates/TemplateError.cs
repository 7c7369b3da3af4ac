namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>A runtime failure inside an operation; the renderer adds the template's origin and line and rethrows it as <see cref="ChatTemplateException"/>.</summary>
sealed class TemplateError(string message, ChatTemplateErrorReason reason = ChatTemplateErrorReason.Runtime, string? templateMessage = null) : Exception(message)
{
    public ChatTemplateErrorReason Reason { get; } = reason;
    public string? TemplateMessage { get; } = templateMessage;
}
