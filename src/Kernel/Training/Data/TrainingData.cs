using Ckpt.Formats.Text;
using Ckpt.Training.Data.ChatTemplates;

namespace Ckpt.Training.Data;

/// <summary>One SFT example as ids: the prompt (masked from the loss) and the completion (learned, EOS included).</summary>
public sealed record SftExample(int[] Prompt, int[] Completion);

/// <summary>One preference pair as ids: a shared prompt, the chosen and the rejected completion (EOS included).</summary>
public sealed record PreferenceExample(int[] Prompt, int[] Chosen, int[] Rejected);

/// <summary>
/// JSONL training data, one record a line. SFT: {"prompt","completion"} or Alpaca {"instruction","input","output"};
/// DPO: {"prompt","chosen","rejected"}. Pre-tokenized records (for models without tokenizer files) use TRL's column
/// names: SFT {"prompt_input_ids","completion_input_ids"} or {"input_ids","completion_mask"}, DPO
/// {"prompt_input_ids","chosen_input_ids","rejected_input_ids"}; their ids are taken exactly as given.
/// Text follows TRL's tokenization: the prompt gets BOS, a completion is the tail of encode(prompt + completion)
/// after the prompt's ids (falling back to encoding it alone when the tokenizer merges across the boundary), and
/// EOS is appended. Sequences longer than <c>maxLength</c> keep their start; records whose prompt alone fills it are dropped.
/// Conversational records (TRL's: lists of {"role", "content"} messages, see <see cref="ChatRecords"/>) are rendered
/// with the model's chat template and tokenized as HF does after apply_chat_template: special tokens in the text are
/// those tokens and no BOS is added (the template writes bos_token where the model wants one, so there is never a
/// double BOS). SFT adds no EOS to them (the template ends each turn, as TRL's SFT does not add one to conversations);
/// DPO appends EOS to both answers as TRL's DPO tokenizer does for every record.
/// </summary>
public static class TrainingData
{
    public static (IReadOnlyList<SftExample> Examples, int Dropped) ReadSft(string path, TextTokenizer? tokenizer,
        PromptTemplate template = PromptTemplate.Auto, int maxLength = 1024, ChatTemplate? chatTemplate = null, string? modelFolder = null) =>
        Read(path, tokenizer, template, maxLength, chatTemplate, modelFolder, documents: false);

    /// <summary>
    /// An unlearning recipe's forget or retain set: documents, each learned (or unlearned) on every token after the
    /// first, as a causal LM is pre-trained (HF's labels = input_ids): {"text": ...} is tokenized with BOS and no EOS
    /// (HF's tokenizer(text)); pre-tokenized {"input_ids": [...]} (without a completion_mask) is taken as given. Any SFT
    /// record ({"prompt","completion"}, Alpaca, conversations, prompt/completion ids) counts its completion tokens
    /// only, as in SFT. Documents longer than <c>maxLength</c> keep their start.
    /// </summary>
    public static (IReadOnlyList<SftExample> Examples, int Dropped) ReadDocuments(string path, TextTokenizer? tokenizer,
        PromptTemplate template = PromptTemplate.Auto, int maxLength = 1024, ChatTemplate? chatTemplate = null, string? modelFolder = null) =>
        Read(path, tokenizer, template, maxLength, chatTemplate, modelFolder, documents: true);

    static (IReadOnlyList<SftExample> Examples, int Dropped) Read(string path, TextTokenizer? tokenizer,
        PromptTemplate template, int maxLength, ChatTemplate? chatTemplate, string? modelFolder, bool documents)
    {
        var examples = new List<SftExample>();
        int dropped = 0;
        foreach (var (line, o) in Records(path))
        {
            int[] prompt, completion;
            if (documents && Text(o, "text") is { } document)
            {
                var tok = tokenizer ?? throw Bad(path, line, "the record is text but the model folder has no tokenizer.model or tokenizer.json; give pre-tokenized {\"input_ids\": [...]} instead");
                (prompt, completion) = ([], tok.Encode(document, addBos: true));
                if (completion.Length < 2) throw Bad(path, line, "the document has fewer than 2 tokens, so no token of it is predicted");
            }
            else if (documents && !o.TryGetProperty("completion_mask", out _) && Ids(o, "input_ids", path, line) is { } documentIds)
            {
                (prompt, completion) = ([], documentIds);
                if (completion.Length < 2) throw Bad(path, line, "input_ids has fewer than 2 tokens, so no token of it is predicted");
            }
            else if (Ids(o, "prompt_input_ids", path, line) is { } p && Ids(o, "completion_input_ids", path, line) is { } c)
                (prompt, completion) = (p, c);
            else if (Ids(o, "input_ids", path, line) is { } ids && Ids(o, "completion_mask", path, line) is { } mask)
            {
                if (mask.Length != ids.Length) throw Bad(path, line, "completion_mask and input_ids differ in length");
                int start = Array.FindIndex(mask, m => m != 0);
                if (start < 0 || mask.Skip(start).Any(m => m == 0)) throw Bad(path, line, "completion_mask must be zeros then ones");
                (prompt, completion) = (ids[..start], ids[start..]);
            }
            else if (ChatRecords.IsConversational(o))
            {
                var chat = Chat(chatTemplate, template, modelFolder, path, line);
                var (promptText, completionText) = ChatRecords.Sft(o, chat, d => Bad(path, line, d));
                var tok = tokenizer ?? throw NoTokenizer(path, line);
                (prompt, completion) = TokenizeRendered(tok, promptText, completionText, appendEos: false);
            }
            else
            {
                string promptText, completionText;
                if (Text(o, "instruction") is { } instruction)
                {
                    promptText = template == PromptTemplate.None ? instruction : AlpacaTemplate.Format(instruction, Text(o, "input"));
                    completionText = Text(o, "output") ?? throw Bad(path, line, "an instruction record needs \"output\"");
                }
                else if (Text(o, "prompt") is { } promptField && Text(o, "completion") is { } completionField)
                {
                    promptText = template == PromptTemplate.Alpaca ? AlpacaTemplate.Format(promptField, null) : promptField;
                    completionText = completionField;
                }
                else throw Bad(path, line, documents
                    ? "a document record needs {\"text\"} or {\"input_ids\"}, or an SFT record {\"prompt\",\"completion\"}, {\"instruction\",\"input\",\"output\"} or pre-tokenized ids"
                    : "an SFT record needs {\"prompt\",\"completion\"}, {\"instruction\",\"input\",\"output\"} or pre-tokenized ids");
                var tok = tokenizer ?? throw NoTokenizer(path, line);
                (prompt, completion) = Tokenize(tok, promptText, completionText);
            }
            if (completion.Length == 0) throw Bad(path, line, "the completion is empty");
            if (prompt.Length >= maxLength) { dropped++; continue; }
            examples.Add(new SftExample(prompt, completion[..Math.Min(completion.Length, maxLength - prompt.Length)]));
        }
        if (examples.Count == 0) throw new FormatException($"{path}: no usable training records");
        return (examples, dropped);
    }

    public static (IReadOnlyList<PreferenceExample> Examples, int Dropped) ReadPreferences(string path, TextTokenizer? tokenizer,
        PromptTemplate template = PromptTemplate.Auto, int maxLength = 1024, ChatTemplate? chatTemplate = null, string? modelFolder = null)
    {
        var examples = new List<PreferenceExample>();
        int dropped = 0;
        foreach (var (line, o) in Records(path))
        {
            int[] prompt, chosen, rejected;
            if (Ids(o, "prompt_input_ids", path, line) is { } p)
            {
                prompt = p;
                chosen = Ids(o, "chosen_input_ids", path, line) ?? throw Bad(path, line, "a pre-tokenized preference record needs chosen_input_ids");
                rejected = Ids(o, "rejected_input_ids", path, line) ?? throw Bad(path, line, "a pre-tokenized preference record needs rejected_input_ids");
            }
            else if (ChatRecords.IsConversational(o))
            {
                var chat = Chat(chatTemplate, template, modelFolder, path, line);
                var (promptText, chosenText, rejectedText) = ChatRecords.Preference(o, chat, d => Bad(path, line, d));
                var tok = tokenizer ?? throw NoTokenizer(path, line);
                (prompt, chosen) = TokenizeRendered(tok, promptText, chosenText, appendEos: true);
                (_, rejected) = TokenizeRendered(tok, promptText, rejectedText, appendEos: true);
            }
            else
            {
                var promptText = Text(o, "prompt") ?? throw Bad(path, line, "a preference record needs {\"prompt\",\"chosen\",\"rejected\"} or pre-tokenized ids");
                var chosenText = Text(o, "chosen") ?? throw Bad(path, line, "a preference record needs \"chosen\"");
                var rejectedText = Text(o, "rejected") ?? throw Bad(path, line, "a preference record needs \"rejected\"");
                if (template == PromptTemplate.Alpaca) promptText = AlpacaTemplate.Format(promptText, null);
                var tok = tokenizer ?? throw NoTokenizer(path, line);
                (prompt, chosen) = Tokenize(tok, promptText, chosenText);
                (_, rejected) = Tokenize(tok, promptText, rejectedText);
            }
            if (chosen.Length == 0 || rejected.Length == 0) throw Bad(path, line, "a completion is empty");
            if (prompt.Length >= maxLength) { dropped++; continue; }
            int room = maxLength - prompt.Length;
            examples.Add(new PreferenceExample(prompt, chosen[..Math.Min(chosen.Length, room)], rejected[..Math.Min(rejected.Length, room)]));
        }
        if (examples.Count == 0) throw new FormatException($"{path}: no usable preference records");
        return (examples, dropped);
    }

    static (int[] Prompt, int[] Completion) Tokenize(TextTokenizer tokenizer, string prompt, string completion)
    {
        var promptIds = tokenizer.Encode(prompt, addBos: true);
        var full = tokenizer.Encode(prompt + completion, addBos: true);
        var tail = full.Length > promptIds.Length && full.AsSpan(0, promptIds.Length).SequenceEqual(promptIds)
            ? full[promptIds.Length..]
            : tokenizer.Encode(completion, addBos: false);
        return (promptIds, tokenizer.Special.Eos is int eos ? [.. tail, eos] : tail);
    }

    /// <summary>Rendered chat text to ids: the completion is the full text's ids after the prompt's (its own ids where the tokenizer merges across the boundary).</summary>
    static (int[] Prompt, int[] Completion) TokenizeRendered(TextTokenizer tokenizer, string prompt, string completion, bool appendEos)
    {
        var promptIds = tokenizer.EncodeRendered(prompt);
        var full = tokenizer.EncodeRendered(prompt + completion);
        var tail = full.Length > promptIds.Length && full.AsSpan(0, promptIds.Length).SequenceEqual(promptIds)
            ? full[promptIds.Length..]
            : tokenizer.EncodeRendered(completion);
        return (promptIds, appendEos && tokenizer.Special.Eos is int eos ? [.. tail, eos] : tail);
    }

    static ChatTemplate Chat(ChatTemplate? chat, PromptTemplate template, string? modelFolder, string path, int line)
    {
        if (template != PromptTemplate.Auto)
            throw Bad(path, line, $"the record is a conversation, which is rendered with the chat template; --template {template.ToString().ToLowerInvariant()} applies to text records only (use --template auto)");
        return chat ?? throw Bad(path, line,
            $"the record is a conversation but the model folder {modelFolder ?? "(none)"} has no chat_template in tokenizer_config.json; pass --chat-template <file.jinja>");
    }

    static IEnumerable<(int Line, JsonElement Record)> Records(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"training data {path} does not exist", path);
        int n = 0;
        foreach (var text in RegularFile.ReadLines(path))
        {
            n++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonElement record;
            try { record = JsonLimits.Parse(text, null, FormatErrorReason.MetadataInvalid).RootElement; }
            catch (CheckpointFormatException e) { throw Bad(path, n, e.Message[..e.Message.LastIndexOf(" [", StringComparison.Ordinal)]); }
            if (record.ValueKind != JsonValueKind.Object) throw Bad(path, n, "each line must be a JSON object");
            yield return (n, record);
        }
    }

    static string? Text(JsonElement o, string key) =>
        o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    static int[]? Ids(JsonElement o, string key, string path, int line)
    {
        if (!o.TryGetProperty(key, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Bad(path, line, $"{key} must be a list of token ids");
        var ids = new int[v.GetArrayLength()];
        int i = 0;
        foreach (var x in v.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt32(out var id) || id < 0)
                throw Bad(path, line, $"{key} must hold non-negative integer token ids");
            ids[i++] = id;
        }
        return ids;
    }

    static FormatException Bad(string path, int line, string detail) => new($"{Path.GetFileName(path)} line {line}: {detail}");

    static FormatException NoTokenizer(string path, int line) =>
        Bad(path, line, "the record is text but the model folder has no tokenizer.model or tokenizer.json; give pre-tokenized ids (prompt_input_ids, ...) instead");
}
