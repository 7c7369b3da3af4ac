using Ckpt.Training.Data.ChatTemplates;

namespace Ckpt.Training.Data;

/// <summary>
/// TRL's conversational records turned into prompt and completion text by the model's chat template:
/// SFT {"messages": [...]} (prompt = the messages before the last assistant message rendered with
/// add_generation_prompt, completion = the rest of the whole conversation's rendering) or {"prompt": [...],
/// "completion": [...]}; DPO {"prompt": [...], "chosen": [...], "rejected": [...]} (each answer = rendering(prompt +
/// answer) minus rendering(prompt, add_generation_prompt)). A rendering that does not start with its prompt's cannot
/// be split and is refused.
/// </summary>
static class ChatRecords
{
    /// <summary>Whether the field is a list of messages (objects), the mark of a conversational record.</summary>
    public static bool IsConversation(JsonElement record, string key) =>
        record.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Array && v.EnumerateArray().Any() && v.EnumerateArray().All(m => m.ValueKind == JsonValueKind.Object);

    public static bool IsConversational(JsonElement record) =>
        IsConversation(record, "messages") || IsConversation(record, "prompt") || IsConversation(record, "chosen");

    public static (string Prompt, string Completion) Sft(JsonElement record, ChatTemplate template, Func<string, Exception> bad)
    {
        if (IsConversation(record, "messages"))
        {
            var messages = Messages(record, "messages", bad);
            int last = messages.FindLastIndex(m => Role(m) == "assistant");
            if (last < 0) throw bad("a \"messages\" record needs an assistant message to learn");
            return Split(template, messages[..last], messages[last..], "messages before the last assistant message", bad);
        }
        if (IsConversation(record, "prompt") && IsConversation(record, "completion"))
            return Split(template, Messages(record, "prompt", bad), Messages(record, "completion", bad), "prompt", bad);
        throw bad("a conversational SFT record needs \"messages\" or \"prompt\" and \"completion\" as lists of {\"role\", \"content\"}");
    }

    public static (string Prompt, string Chosen, string Rejected) Preference(JsonElement record, ChatTemplate template, Func<string, Exception> bad)
    {
        if (!IsConversation(record, "chosen") || !IsConversation(record, "rejected"))
            throw bad("a conversational preference record needs \"chosen\" and \"rejected\" (and usually \"prompt\") as lists of {\"role\", \"content\"}");
        var chosenMessages = Messages(record, "chosen", bad);
        var rejectedMessages = Messages(record, "rejected", bad);
        List<object?> prompt;
        if (IsConversation(record, "prompt")) prompt = Messages(record, "prompt", bad);
        else
        {
            // TRL's implicit prompt: the messages both conversations share (extract_prompt).
            int shared = 0;
            while (shared < chosenMessages.Count - 1 && shared < rejectedMessages.Count - 1
                   && PythonText.Json(chosenMessages[shared], null, false) == PythonText.Json(rejectedMessages[shared], null, false)) shared++;
            if (shared == 0) throw bad("a preference record without \"prompt\" needs chosen and rejected conversations that start with the same messages");
            prompt = chosenMessages[..shared];
            chosenMessages = chosenMessages[shared..];
            rejectedMessages = rejectedMessages[shared..];
        }
        var (p, chosen) = Split(template, prompt, chosenMessages, "prompt", bad);
        var (_, rejected) = Split(template, prompt, rejectedMessages, "prompt", bad);
        return (p, chosen, rejected);
    }

    static (string Prompt, string Completion) Split(ChatTemplate template, List<object?> prompt, List<object?> answer, string what, Func<string, Exception> bad)
    {
        string promptText, fullText;
        try
        {
            promptText = template.Render(prompt, addGenerationPrompt: true);
            fullText = template.Render(new List<object?>([.. prompt, .. answer]), addGenerationPrompt: false);
        }
        catch (ChatTemplateException e)
        {
            throw new FormatException(bad(e.Message).Message, e);
        }
        if (!fullText.StartsWith(promptText, StringComparison.Ordinal))
            throw bad($"the chat template's rendering of the conversation does not start with its rendering of the {what} (with add_generation_prompt), so prompt and completion cannot be told apart");
        if (fullText.Length == promptText.Length) throw bad("the chat template renders nothing for the completion");
        return (promptText, fullText[promptText.Length..]);
    }

    static List<object?> Messages(JsonElement record, string key, Func<string, Exception> bad)
    {
        var list = (List<object?>)TemplateValue.FromJson(record.GetProperty(key))!;
        for (int i = 0; i < list.Count; i++)
            if (Role(list[i]) is null) throw bad($"{key}[{i}] needs a \"role\" string");
        return list;
    }

    static string? Role(object? message) =>
        message is OrderedDictionary<string, object?> m && m.TryGetValue("role", out var r) ? r as string : null;
}
