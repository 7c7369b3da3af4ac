using System.Text.Json;
using Ckpt.Training.Data;
using Ckpt.Training.Data.ChatTemplates;

namespace Ckpt.Tests.Training;

/// <summary>
/// Conversations rendered with a LLaMA-2 style chat template (bos_token and eos_token written by the template) and
/// tokenized with the SentencePiece fixture, against the ids transformers' slow LlamaTokenizer gives for the same text
/// (Tokenizer/chat_reference.json, written by Tokenizer/make_chat_reference.py with Debian's jinja2 and sentencepiece):
/// special-token text is that token, every other piece is encoded on its own with the model's dummy prefix.
/// </summary>
public sealed class ChatTokenizationParityTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("chat-tokenization");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static readonly Lazy<JsonElement> Reference = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(
        Path.GetDirectoryName(FineTuningFixtures.SentencePieceModel)!, "chat_reference.json"))).RootElement);

    static JsonElement Conversation(int index) => Reference.Value.GetProperty("conversations")[index];

    static int[] Ids(JsonElement conversation, string key) => conversation.GetProperty(key).EnumerateArray().Select(x => x.GetInt32()).ToArray();

    public static TheoryData<int> Conversations => new(Enumerable.Range(0, 4));

    /// <summary>The fixture's tokenizer.model beside a tokenizer_config.json holding the reference's template and tokens.</summary>
    string ModelFolder()
    {
        var folder = Path.Combine(_dir, "model");
        Directory.CreateDirectory(folder);
        File.Copy(FineTuningFixtures.SentencePieceModel, Path.Combine(folder, "tokenizer.model"), overwrite: true);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(new
        {
            bos_token = Reference.Value.GetProperty("bos_token").GetString(),
            eos_token = Reference.Value.GetProperty("eos_token").GetString(),
            chat_template = Reference.Value.GetProperty("chat_template").GetString(),
        }));
        return folder;
    }

    [Fact]
    public void The_reference_holds_four_conversations()
    {
        Assert.Equal(4, Reference.Value.GetProperty("conversations").GetArrayLength());
        for (int i = 0; i < 4; i++) Assert.NotEmpty(Ids(Conversation(i), "ids"));
    }

    [Theory]
    [MemberData(nameof(Conversations))]
    public void A_rendered_conversation_tokenizes_to_the_ids_of_hf_llama_tokenizer(int index)
    {
        var folder = ModelFolder();
        var c = Conversation(index);
        var template = ChatTemplate.FromModelFolder(folder)!;
        using var tokenizer = TextTokenizer.TryOpen(folder)!;

        var text = template.Render(c.GetProperty("messages"), addGenerationPrompt: false);
        Assert.Equal(c.GetProperty("text").GetString(), text);
        Assert.Equal(Ids(c, "ids"), tokenizer.EncodeRendered(text));
    }

    [Theory]
    [MemberData(nameof(Conversations))]
    public void A_messages_record_becomes_the_reference_prompt_then_the_rest_of_the_conversation(int index)
    {
        var folder = ModelFolder();
        var c = Conversation(index);
        var data = Path.Combine(_dir, "messages.jsonl");
        File.WriteAllText(data, JsonSerializer.Serialize(new { messages = c.GetProperty("messages") }) + "\n");
        using var tokenizer = TextTokenizer.TryOpen(folder)!;

        var example = Assert.Single(TrainingData.ReadSft(data, tokenizer, chatTemplate: ChatTemplate.FromModelFolder(folder)).Examples);
        Assert.Equal(Ids(c, "prompt_ids"), example.Prompt);
        Assert.Equal(Ids(c, "ids"), example.Prompt.Concat(example.Completion));
    }
}
