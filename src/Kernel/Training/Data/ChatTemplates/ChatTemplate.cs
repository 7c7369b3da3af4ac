using Ckpt.Formats.Text;

namespace Ckpt.Training.Data.ChatTemplates;

/// <summary>
/// A model's chat template (HF tokenizer_config.json `chat_template`, or a .jinja file), rendered by this folder's
/// Jinja2 interpreter the way transformers' apply_chat_template renders it: ImmutableSandboxedEnvironment with
/// trim_blocks and lstrip_blocks, the loopcontrols extension, globals raise_exception and strftime_now, tojson as
/// json.dumps(ensure_ascii=False), and the variables messages, tools (none), documents (none),
/// add_generation_prompt and the special tokens (bos_token, eos_token, ...) as strings. Values are JSON-like only, so
/// a template can reach nothing but its arguments.
/// </summary>
public sealed class ChatTemplate
{
    public const string ConfigOrigin = "tokenizer_config.json chat_template";

    readonly Lazy<IReadOnlyList<Statement>> _parsed;

    /// <summary>Where the template came from, as errors name it.</summary>
    public string Origin { get; }
    public string Text { get; }
    /// <summary>Special tokens the template sees as variables (bos_token, eos_token, unk_token, pad_token), from tokenizer_config.json.</summary>
    public IReadOnlyDictionary<string, string> SpecialTokens { get; }
    /// <summary>The clock strftime_now reads; tests fix it.</summary>
    public Func<DateTime> Clock { get; set; } = () => DateTime.Now;

    ChatTemplate(string text, string origin, IReadOnlyDictionary<string, string> specialTokens)
    {
        Text = text;
        Origin = origin;
        SpecialTokens = specialTokens;
        // A model folder's template is parsed when first rendered: a run on text records never needs it.
        _parsed = new(() => TemplateParser.Parse(text, origin));
    }

    ChatTemplate Parsed()
    {
        _ = _parsed.Value;
        return this;
    }

    /// <exception cref="ChatTemplateException">The text is not a template this interpreter reads; the message names the line.</exception>
    public static ChatTemplate Parse(string text, string origin = "chat template", IReadOnlyDictionary<string, string>? specialTokens = null) =>
        new ChatTemplate(text, origin, specialTokens ?? new Dictionary<string, string>()).Parsed();

    /// <summary>A .jinja file; the special tokens come from the model folder's tokenizer_config.json when there is one.</summary>
    public static ChatTemplate FromFile(string path, string? modelFolder = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"chat template {path} does not exist", path);
        var tokens = modelFolder is null ? new Dictionary<string, string>() : ReadConfig(modelFolder).Tokens;
        return new ChatTemplate(RegularFile.ReadAllText(path), Path.GetFileName(path), tokens).Parsed();
    }

    /// <summary>The folder's chat template: tokenizer_config.json `chat_template` (the "default" one of a named list), else chat_template.jinja beside it; null when it has neither.</summary>
    public static ChatTemplate? FromModelFolder(string modelFolder)
    {
        var (template, tokens) = ReadConfig(modelFolder);
        if (template is not null) return new ChatTemplate(template, ConfigOrigin, tokens);
        var jinja = Path.Combine(modelFolder, "chat_template.jinja");
        return File.Exists(jinja) ? new ChatTemplate(RegularFile.ReadAllText(jinja), "chat_template.jinja", tokens) : null;
    }

    static (string? Template, Dictionary<string, string> Tokens) ReadConfig(string modelFolder)
    {
        var path = Path.Combine(modelFolder, "tokenizer_config.json");
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path)) return (null, tokens);
        JsonDocument doc;
        try { doc = JsonLimits.Parse(RegularFile.ReadAllBytes(path), path, Ckpt.Errors.FormatErrorReason.MetadataInvalid); }
        catch (JsonException e) { throw new Ckpt.Errors.CheckpointFormatException(Ckpt.Errors.FormatErrorReason.MetadataInvalid, path, null, "tokenizer_config.json is not valid JSON", inner: e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, tokens);
            foreach (var name in new[] { "bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token" })
                if (root.TryGetProperty(name, out var t))
                {
                    // A token is a string or an AddedToken dict {"content": ..., "__type": "AddedToken", ...}.
                    var content = t.ValueKind == JsonValueKind.String ? t.GetString()
                        : t.ValueKind == JsonValueKind.Object && t.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                    if (content is not null) tokens[name] = content;
                }
            string? template = null;
            if (root.TryGetProperty("chat_template", out var ct))
            {
                if (ct.ValueKind == JsonValueKind.String) template = ct.GetString();
                else if (ct.ValueKind == JsonValueKind.Array)
                    foreach (var entry in ct.EnumerateArray())
                        if (entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("name", out var n) && n.GetString() == "default"
                            && entry.TryGetProperty("template", out var body) && body.ValueKind == JsonValueKind.String)
                            template = body.GetString();
            }
            return (template, tokens);
        }
    }

    /// <summary>Renders a JSON list of messages ({"role", "content", ...}).</summary>
    public string Render(JsonElement messages, bool addGenerationPrompt, IReadOnlyDictionary<string, JsonElement>? variables = null) =>
        Render(TemplateValue.FromJson(messages), addGenerationPrompt,
            variables?.ToDictionary(kv => kv.Key, kv => TemplateValue.FromJson(kv.Value)));

    internal string Render(object? messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? variables = null)
    {
        var globals = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["range"] = new TemplateFunction("range", (a, _, _) => Range(a)),
            ["namespace"] = new TemplateFunction("namespace", (a, kw, _) => Namespace(a, kw)),
            ["raise_exception"] = new TemplateFunction("raise_exception", (a, _, _) =>
            {
                var message = a.Count > 0 ? PythonText.Str(a[0]) : "";
                throw new TemplateError($"the template raised: {message}", ChatTemplateErrorReason.Raised, message);
            }),
            ["strftime_now"] = new TemplateFunction("strftime_now", (a, _, _) => Strftime(Clock(), a.Count > 0 ? PythonText.Str(a[0]) : "")),
            ["dict"] = new TemplateFunction("dict", (_, kw, _) => new OrderedDictionary<string, object?>(kw, StringComparer.Ordinal)),
            ["messages"] = messages,
            ["tools"] = null,
            ["documents"] = null,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        foreach (var (k, v) in SpecialTokens) globals[k] = v;
        if (variables is not null) foreach (var (k, v) in variables) globals[k] = v;
        return new TemplateRenderer(Origin, globals).Render(_parsed.Value);
    }

    static List<object?> Range(IReadOnlyList<object?> a)
    {
        long Int(object? v) => v is long l ? l : throw new TemplateError($"range expects integers, found {PythonSemantics.Article(v)}");
        long start = a.Count > 1 ? Int(a[0]) : 0, stop = a.Count == 1 ? Int(a[0]) : a.Count > 1 ? Int(a[1]) : 0, step = a.Count > 2 ? Int(a[2]) : 1;
        if (step == 0) throw new TemplateError("range step cannot be zero");
        var list = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            if (list.Count >= 100_000) throw new TemplateError("range is limited to 100000 items in a template");
            list.Add(i);
        }
        return list;
    }

    static TemplateNamespace Namespace(IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> kw)
    {
        var ns = new TemplateNamespace();
        foreach (var arg in a)
            if (arg is OrderedDictionary<string, object?> d) foreach (var (k, v) in d) ns.Attributes[k] = v;
        foreach (var (k, v) in kw) ns.Attributes[k] = v;
        return ns;
    }

    /// <summary>The strftime codes chat templates use for "today's date" (LLaMA 3.1: "%d %b %Y").</summary>
    static string Strftime(DateTime t, string format)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length) { sb.Append(format[i]); continue; }
            char c = format[++i];
            sb.Append(c switch
            {
                'Y' => t.ToString("yyyy", inv), 'y' => t.ToString("yy", inv), 'm' => t.ToString("MM", inv), 'd' => t.ToString("dd", inv),
                'B' => t.ToString("MMMM", inv), 'b' => t.ToString("MMM", inv), 'A' => t.ToString("dddd", inv), 'a' => t.ToString("ddd", inv),
                'H' => t.ToString("HH", inv), 'I' => t.ToString("hh", inv), 'M' => t.ToString("mm", inv), 'S' => t.ToString("ss", inv),
                'p' => t.ToString("tt", inv), 'j' => t.DayOfYear.ToString("000", inv), '%' => "%",
                _ => "%" + c,
            });
        }
        return sb.ToString();
    }
}
