using System.Text.Json;
using Ckpt.Training.Data;
using Ckpt.Training.Data.ChatTemplates;

namespace Ckpt.Tests.Training;

/// <summary>TRL's conversational records rendered with a chat template and tokenized with the SentencePiece fixture.</summary>
public sealed class ChatTrainingDataTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("chat-data");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>LLaMA-2 style: BOS and [INST] per user turn, the answer then EOS, all written by the template.</summary>
    public const string InstTemplate = """
        {% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'] | trim + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] | trim + ' ' + eos_token }}{% endif %}{% endfor %}
        """;

    /// <summary>ChatML: no BOS anywhere, turns delimited by added tokens.</summary>
    public const string ChatMlTemplate = """
        {% for m in messages %}{{ '<|im_start|>' + m.role + '\n' + m.content + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
        """;

    /// <summary>The fixture's tokenizer.model with a tokenizer_config.json holding <paramref name="template"/> and the ChatML added tokens (ids 400, 401).</summary>
    public static string ModelFolder(string folder, string? template)
    {
        Directory.CreateDirectory(folder);
        File.Copy(FineTuningFixtures.SentencePieceModel, Path.Combine(folder, "tokenizer.model"), overwrite: true);
        var config = new Dictionary<string, object>
        {
            ["bos_token"] = new { __type = "AddedToken", content = "<s>", lstrip = false, rstrip = false },
            ["eos_token"] = "</s>",
            ["added_tokens_decoder"] = new Dictionary<string, object>
            {
                ["400"] = new { content = "<|im_start|>", special = true },
                ["401"] = new { content = "<|im_end|>", special = true },
            },
        };
        if (template is not null) config["chat_template"] = template;
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(config));
        return folder;
    }

    string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    static string Render(ChatTemplate template, string messages, bool addGenerationPrompt) =>
        template.Render(JsonDocument.Parse(messages).RootElement, addGenerationPrompt);

    const string Conversation = """
        {"messages": [{"role": "user", "content": "Add the numbers 2 and 3."}, {"role": "assistant", "content": "The answer is 5."}, {"role": "user", "content": "Reverse 12"}, {"role": "assistant", "content": "The answer is 21."}]}
        """;

    [Fact]
    public void A_messages_record_splits_at_the_last_assistant_turn_into_the_ids_of_the_rendered_texts()
    {
        var folder = ModelFolder(Path.Combine(_dir, "m"), InstTemplate);
        using var tokenizer = TextTokenizer.TryOpen(folder)!;
        var chat = ChatTemplate.FromModelFolder(folder)!;
        var e = Assert.Single(TrainingData.ReadSft(Write("c.jsonl", Conversation), tokenizer, chatTemplate: chat).Examples);

        var messages = JsonDocument.Parse(Conversation).RootElement.GetProperty("messages");
        var prompt = Render(chat, JsonSerializer.Serialize(messages.EnumerateArray().Take(3)), addGenerationPrompt: true);
        var full = Render(chat, messages.GetRawText(), addGenerationPrompt: false);
        Assert.Equal("<s>[INST] Add the numbers 2 and 3. [/INST] The answer is 5. </s><s>[INST] Reverse 12 [/INST]", prompt);
        Assert.Equal(prompt + " The answer is 21. </s>", full);
        Assert.Equal(tokenizer.EncodeRendered(prompt), e.Prompt);
        Assert.Equal(tokenizer.EncodeRendered(full), e.Prompt.Concat(e.Completion));
        // One BOS (the template's), none added by tokenization; the completion ends with the template's EOS, not two.
        Assert.Equal(1, e.Prompt[0]);
        Assert.NotEqual(1, e.Prompt[1]);
        Assert.Equal(2, e.Prompt.Count(id => id == 1));
        Assert.Equal(2, e.Completion[^1]);
        Assert.NotEqual(2, e.Completion[^2]);
    }

    [Fact]
    public void Special_token_text_becomes_the_token_and_added_tokens_come_from_added_tokens_decoder()
    {
        var folder = ModelFolder(Path.Combine(_dir, "m"), null);
        using var tokenizer = TextTokenizer.TryOpen(folder)!;
        var a = tokenizer.Encode("Add", addBos: false);
        Assert.Equal([1, .. a, 2], tokenizer.EncodeRendered("<s>Add</s>"));
        Assert.Equal([400, .. a, 401, .. a], tokenizer.EncodeRendered("<|im_start|>Add<|im_end|>Add"));
        Assert.Equal(tokenizer.Encode("Add the numbers", addBos: false), tokenizer.EncodeRendered("Add the numbers"));
    }

    [Fact]
    public void A_template_that_writes_no_bos_gives_ids_without_bos()
    {
        var folder = ModelFolder(Path.Combine(_dir, "m"), ChatMlTemplate);
        using var tokenizer = TextTokenizer.TryOpen(folder)!;
        var chat = ChatTemplate.FromModelFolder(folder)!;
        var e = Assert.Single(TrainingData.ReadSft(Write("c.jsonl", Conversation), tokenizer, chatTemplate: chat).Examples);
        Assert.Equal(400, e.Prompt[0]);
        Assert.DoesNotContain(1, e.Prompt);
        Assert.Equal([401, .. tokenizer.Encode("\n", addBos: false)], e.Completion[^(1 + tokenizer.Encode("\n", addBos: false).Length)..]);
        // The prompt ends with the generation prompt; the completion is the answer and its end of turn only.
        Assert.Equal(tokenizer.EncodeRendered("<|im_start|>assistant\n"), e.Prompt[^tokenizer.EncodeRendered("<|im_start|>assistant\n").Length..]);
        var full = Render(chat, JsonDocument.Parse(Conversation).RootElement.GetProperty("messages").GetRawText(), addGenerationPrompt: false);
        Assert.EndsWith("<|im_start|>assistant\nThe answer is 21.<|im_end|>\n", full);
        Assert.Equal(tokenizer.EncodeRendered(full), e.Prompt.Concat(e.Completion));
        Assert.Equal(401, e.Completion[^(1 + tokenizer.Encode("\n", addBos: false).Length)]);
    }

    [Fact]
    public void A_prompt_completion_conversation_renders_the_prompt_with_the_generation_prompt()
    {
        var folder = ModelFolder(Path.Combine(_dir, "m"), ChatMlTemplate);
        using var tokenizer = TextTokenizer.TryOpen(folder)!;
        var path = Write("pc.jsonl", """{"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Add 1 and 2"}], "completion": [{"role": "assistant", "content": "3"}]}""");
        var e = Assert.Single(TrainingData.ReadSft(path, tokenizer, chatTemplate: ChatTemplate.FromModelFolder(folder)).Examples);
        Assert.Equal(tokenizer.EncodeRendered("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nAdd 1 and 2<|im_end|>\n<|im_start|>assistant\n"), e.Prompt);
        Assert.Equal(tokenizer.EncodeRendered("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nAdd 1 and 2<|im_end|>\n<|im_start|>assistant\n3<|im_end|>\n"), e.Prompt.Concat(e.Completion));
    }

    [Fact]
    public void A_conversational_preference_pair_subtracts_the_prompt_rendering_and_appends_eos()
    {
        var folder = ModelFolder(Path.Combine(_dir, "m"), InstTemplate);
        using var tokenizer = TextTokenizer.TryOpen(folder)!;
        var path = Write("p.jsonl", """{"prompt": [{"role": "user", "content": "Add 2 and 3"}], "chosen": [{"role": "assistant", "content": "The answer is 5."}], "rejected": [{"role": "assistant", "content": "Reverse"}]}""");
        var e = Assert.Single(TrainingData.ReadPreferences(path, tokenizer, chatTemplate: ChatTemplate.FromModelFolder(folder)).Examples);
        Assert.Equal(tokenizer.EncodeRendered("<s>[INST] Add 2 and 3 [/INST]"), e.Prompt);
        Assert.Equal([.. tokenizer.EncodeRendered("<s>[INST] Add 2 and 3 [/INST] The answer is 5. </s>"), 2], e.Prompt.Concat(e.Chosen));
        Assert.Equal([.. tokenizer.EncodeRendered("<s>[INST] Add 2 and 3 [/INST] Reverse </s>"), 2], e.Prompt.Concat(e.Rejected));
    }

    [Fact]
    public void A_preference_pair_without_a_prompt_takes_the_messages_both_share_as_its_prompt()
    {
        var folder = ModelFolder(Path.Combine(_dir, "m"), InstTemplate);
        using var tokenizer = TextTokenizer.TryOpen(folder)!;
        var chat = ChatTemplate.FromModelFolder(folder);
        var explicitPrompt = Write("p.jsonl", """{"prompt": [{"role": "user", "content": "Add 2 and 3"}], "chosen": [{"role": "assistant", "content": "The answer is 5."}], "rejected": [{"role": "assistant", "content": "Reverse"}]}""");
        var implicitPrompt = Write("i.jsonl", """{"chosen": [{"role": "user", "content": "Add 2 and 3"}, {"role": "assistant", "content": "The answer is 5."}], "rejected": [{"role": "user", "content": "Add 2 and 3"}, {"role": "assistant", "content": "Reverse"}]}""");
        var a = Assert.Single(TrainingData.ReadPreferences(explicitPrompt, tokenizer, chatTemplate: chat).Examples);
        var b = Assert.Single(TrainingData.ReadPreferences(implicitPrompt, tokenizer, chatTemplate: chat).Examples);
        Assert.Equal(a.Prompt, b.Prompt);
        Assert.Equal(a.Chosen, b.Chosen);
        Assert.Equal(a.Rejected, b.Rejected);
    }

    [Fact]
    public void A_conversation_for_a_model_without_a_chat_template_is_refused_naming_the_folder_and_the_option()
    {
        var folder = ModelFolder(Path.Combine(_dir, "m"), null);
        using var tokenizer = TextTokenizer.TryOpen(folder)!;
        var e = Assert.Throws<FormatException>(() => TrainingData.ReadSft(Write("c.jsonl", Conversation), tokenizer, chatTemplate: null, modelFolder: folder));
        Assert.Equal($"c.jsonl line 1: the record is a conversation but the model folder {folder} has no chat_template in tokenizer_config.json; pass --chat-template <file.jinja>", e.Message);
    }

    [Fact]
    public void A_template_whose_conversation_does_not_start_with_its_prompt_is_refused_naming_the_row()
    {
        var chat = ChatTemplate.Parse("{% if add_generation_prompt %}GEN {% endif %}{% for m in messages %}{{ m.content }} {% endfor %}");
        var folder = ModelFolder(Path.Combine(_dir, "m"), null);
        using var tokenizer = TextTokenizer.TryOpen(folder)!;
        var e = Assert.Throws<FormatException>(() => TrainingData.ReadSft(Write("c.jsonl", "", Conversation), tokenizer, chatTemplate: chat));
        Assert.StartsWith("c.jsonl line 2: the chat template's rendering of the conversation does not start with its rendering of the messages before the last assistant message", e.Message);
    }

    [Fact]
    public void A_template_that_raises_names_the_row_the_template_and_its_message()
    {
        var folder = ModelFolder(Path.Combine(_dir, "m"), """{% if messages[0].role != 'system' %}{{ raise_exception('a system message is required') }}{% endif %}""");
        using var tokenizer = TextTokenizer.TryOpen(folder)!;
        var e = Assert.Throws<FormatException>(() => TrainingData.ReadSft(Write("c.jsonl", Conversation), tokenizer, chatTemplate: ChatTemplate.FromModelFolder(folder)));
        Assert.Equal("c.jsonl line 1: tokenizer_config.json chat_template line 1: the template raised: a system message is required", e.Message);
        Assert.IsType<ChatTemplateException>(e.InnerException);
    }

    [Fact]
    public void A_messages_record_without_an_assistant_turn_is_refused()
    {
        var folder = ModelFolder(Path.Combine(_dir, "m"), ChatMlTemplate);
        using var tokenizer = TextTokenizer.TryOpen(folder)!;
        var e = Assert.Throws<FormatException>(() => TrainingData.ReadSft(Write("c.jsonl", """{"messages": [{"role": "user", "content": "hi"}]}"""), tokenizer, chatTemplate: ChatTemplate.FromModelFolder(folder)));
        Assert.Equal("c.jsonl line 1: a \"messages\" record needs an assistant message to learn", e.Message);
    }
}
