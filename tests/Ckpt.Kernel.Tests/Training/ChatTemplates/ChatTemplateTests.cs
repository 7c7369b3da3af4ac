using System.Text.Json;
using Ckpt.Training.Data.ChatTemplates;

namespace Ckpt.Tests.Training.ChatTemplates;

/// <summary>How the interpreter reports bad templates, where templates come from, and what it refuses to reach.</summary>
public sealed class ChatTemplateTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("chat-template");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static string Render(string template, string messages = """[{"role": "user", "content": "hi"}]""", bool addGenerationPrompt = false) =>
        ChatTemplate.Parse(template, ChatTemplate.ConfigOrigin).Render(JsonDocument.Parse(messages).RootElement, addGenerationPrompt);

    [Fact]
    public void An_unclosed_block_names_the_origin_the_line_and_the_missing_end_tag()
    {
        var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{% for m in messages %}\n{{ m.content }}\n{% if m %}x", ChatTemplate.ConfigOrigin));
        Assert.Equal(ChatTemplateErrorReason.Syntax, e.Reason);
        Assert.Equal("tokenizer_config.json chat_template line 3: expected 'elif' or 'else' or 'endif' to close the 'if' of line 3, found the end of the template", e.Message);
    }

    [Fact]
    public void A_mismatched_end_tag_says_which_tag_was_expected_and_which_was_found()
    {
        var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{% for m in messages %}\n{% endif %}", "chat.jinja"));
        Assert.Equal("chat.jinja line 2: expected 'endfor' or 'else' to close the 'for' of line 1, found the tag 'endif'", e.Message);
    }

    [Fact]
    public void A_bad_token_inside_an_expression_is_a_syntax_error_with_its_line()
    {
        var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("line one\n{{ messages[0] + }}", "t.jinja"));
        Assert.Equal("t.jinja line 2: expected an expression, found '}}'", e.Message);
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void Raise_exception_carries_the_templates_own_message()
    {
        var e = Assert.Throws<ChatTemplateException>(() => Render("{% if messages[0].role != 'system' %}\n{{ raise_exception('needs a system prompt') }}{% endif %}"));
        Assert.Equal(ChatTemplateErrorReason.Raised, e.Reason);
        Assert.Equal("needs a system prompt", e.TemplateMessage);
        Assert.Equal("tokenizer_config.json chat_template line 2: the template raised: needs a system prompt", e.Message);
    }

    [Fact]
    public void An_attribute_of_an_undefined_value_is_a_runtime_error_naming_the_variable()
    {
        var e = Assert.Throws<ChatTemplateException>(() => Render("ok\n\n{{ sytem_message.strip() }}"));
        Assert.Equal(ChatTemplateErrorReason.Runtime, e.Reason);
        Assert.Equal("tokenizer_config.json chat_template line 3: 'sytem_message' is undefined", e.Message);
    }

    [Fact]
    public void Templates_reach_no_dotnet_members_and_cannot_change_their_arguments()
    {
        Assert.Equal("", Render("{{ messages.GetType }}{{ messages[0].GetHashCode }}{{ ''.Length }}{{ loop }}"));
        var e = Assert.Throws<ChatTemplateException>(() => Render("{{ messages[0].update({'role': 'system'}) }}"));
        Assert.Contains("unsafe", e.Message);
        Assert.Throws<ChatTemplateException>(() => Render("{{ messages.pop() }}"));
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Runaway_templates_stop_with_an_error_instead_of_exhausting_memory()
    {
        Assert.Throws<ChatTemplateException>(() => Render("{% for i in range(1000000000) %}{% endfor %}"));
        Assert.Throws<ChatTemplateException>(() => Render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"));
        Assert.Throws<ChatTemplateException>(() => Render("{{ 'x' * 10 ** 12 }}"));
        var e = Assert.Throws<ChatTemplateException>(() => Render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"));
        Assert.Contains("steps", e.Message);
    }

    [Fact]
    public void The_template_and_tokens_come_from_tokenizer_config_json_as_strings_or_added_token_dicts()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """
            {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false}, "eos_token": "</s>",
             "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}"}
            """);
        var template = ChatTemplate.FromModelFolder(_dir)!;
        Assert.Equal(ChatTemplate.ConfigOrigin, template.Origin);
        Assert.Equal("<s>hi</s>", template.Render(JsonDocument.Parse("""[{"role": "user", "content": "hi"}]""").RootElement, false));
    }

    [Fact]
    public void A_named_list_of_templates_gives_the_default_one()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """
            {"chat_template": [{"name": "tool_use", "template": "TOOLS"}, {"name": "default", "template": "DEFAULT {{ messages | length }}"}]}
            """);
        Assert.Equal("DEFAULT 1", ChatTemplate.FromModelFolder(_dir)!.Render(JsonDocument.Parse("""[{"role": "user", "content": "hi"}]""").RootElement, false));
    }

    [Fact]
    public void A_folder_without_a_chat_template_has_none_and_a_jinja_file_beside_it_counts()
    {
        Assert.Null(ChatTemplate.FromModelFolder(_dir));
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """{"eos_token": "</s>"}""");
        Assert.Null(ChatTemplate.FromModelFolder(_dir));
        File.WriteAllText(Path.Combine(_dir, "chat_template.jinja"), "{{ messages[0].content }}{{ eos_token }}\n");
        Assert.Equal("hi</s>", ChatTemplate.FromModelFolder(_dir)!.Render(JsonDocument.Parse("""[{"role": "user", "content": "hi"}]""").RootElement, false));
    }
}
