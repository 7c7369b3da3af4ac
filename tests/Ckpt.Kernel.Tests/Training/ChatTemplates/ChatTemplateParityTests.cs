using System.Text.Json;
using Ckpt.Training.Data.ChatTemplates;

namespace Ckpt.Tests.Training.ChatTemplates;

/// <summary>
/// Every case of <see cref="ChatTemplateCases"/> rendered by Python's jinja2 (set up as transformers'
/// apply_chat_template sets it up, tests/python/render_chat_templates.py, all cases in one process) and by ckpt's
/// interpreter: the strings must be identical, and where jinja2 fails ckpt must fail too (with the template's own
/// message when it called raise_exception).
/// </summary>
public sealed class ChatTemplateParityTests
{
    static readonly DateTime FixedNow = new(2024, 7, 23, 9, 5, 7);

    static readonly Lazy<Dictionary<string, JsonElement>> Python = new(RenderInPython);

    public static TheoryData<string> Names => new(ChatTemplateCases.All.Select(c => c.Name));

    static Dictionary<string, JsonElement> RenderInPython()
    {
        var folder = TestPaths.TempDirectory("chat-template-parity");
        var input = Path.Combine(folder, "cases.json");
        File.WriteAllText(input, JsonSerializer.Serialize(ChatTemplateCases.All.Select(c => new
        {
            name = c.Name,
            template = c.Template,
            messages = JsonDocument.Parse(c.Messages).RootElement,
            add_generation_prompt = c.AddGenerationPrompt,
            variables = JsonDocument.Parse(c.Variables).RootElement,
        })));
        var (code, stdout, stderr) = PythonJinja.RunScript("render_chat_templates.py", input);
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
    }

    [Fact]
    public void There_are_at_least_thirty_parity_cases_with_distinct_names()
    {
        Assert.True(ChatTemplateCases.All.Length >= 30);
        Assert.Equal(ChatTemplateCases.All.Length, ChatTemplateCases.All.Select(c => c.Name).Distinct().Count());
    }

    [PythonJinjaTheory]
    [MemberData(nameof(Names))]
    public void The_interpreter_renders_each_case_exactly_as_jinja2_does(string name)
    {
        var c = ChatTemplateCases.All.Single(x => x.Name == name);
        var expected = Python.Value[name];
        if (expected.TryGetProperty("output", out var output))
        {
            Assert.Equal(output.GetString(), Render(c));
            return;
        }
        var e = Assert.Throws<ChatTemplateException>(() => Render(c));
        Assert.StartsWith($"case {name} line ", e.Message);
        if (expected.GetProperty("error").GetString() == "TemplateError" && e.Reason == ChatTemplateErrorReason.Raised)
            Assert.Equal(expected.GetProperty("message").GetString(), e.TemplateMessage);
        else
            Assert.NotEqual(ChatTemplateErrorReason.Raised, e.Reason);
    }

    static string Render(ChatTemplateCases.Case c)
    {
        // String variables are the special tokens (as tokenizer_config.json gives them); others (tools) are extra variables.
        var all = JsonDocument.Parse(c.Variables).RootElement.EnumerateObject().ToList();
        var tokens = all.Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var extra = all.Where(p => p.Value.ValueKind != JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value);
        var template = ChatTemplate.Parse(c.Template, "case " + c.Name, tokens);
        template.Clock = () => FixedNow;
        return template.Render(JsonDocument.Parse(c.Messages).RootElement, c.AddGenerationPrompt, extra);
    }
}
