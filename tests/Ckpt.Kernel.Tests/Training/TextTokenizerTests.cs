using System.Text.Json;
using Ckpt.Training.Data;

namespace Ckpt.Tests.Training;

public sealed class TextTokenizerTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("tokenizer");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static string TokenizerFolder => Path.Combine(TestPaths.RepoRoot, "tests", "Ckpt.Kernel.Tests", "Training", "Tokenizer");

    [Fact]
    public void A_sentencepiece_model_encodes_as_python_sentencepiece_does()
    {
        File.Copy(Path.Combine(TokenizerFolder, "tokenizer.model"), Path.Combine(_dir, "tokenizer.model"));
        using var tokenizer = TextTokenizer.TryOpen(_dir)!;
        using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizerFolder, "sentencepiece_reference.json")));
        Assert.Equal(reference.RootElement.GetProperty("bos").GetInt32(), tokenizer.Special.Bos);
        Assert.Equal(reference.RootElement.GetProperty("eos").GetInt32(), tokenizer.Special.Eos);
        int checkedSamples = 0;
        foreach (var sample in reference.RootElement.GetProperty("samples").EnumerateArray())
        {
            var text = sample.GetProperty("text").GetString()!;
            var expected = sample.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.Equal(expected, tokenizer.Encode(text, addBos: false));
            Assert.Equal([1, .. expected], tokenizer.Encode(text, addBos: true));
            checkedSamples++;
        }
        Assert.Equal(6, checkedSamples);
    }

    [Fact]
    public void Special_token_ids_come_from_config_json_when_it_names_them()
    {
        File.Copy(Path.Combine(TokenizerFolder, "tokenizer.model"), Path.Combine(_dir, "tokenizer.model"));
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type": "llama", "bos_token_id": 1, "eos_token_id": [2, 7], "pad_token_id": 0}""");
        using var tokenizer = TextTokenizer.TryOpen(_dir)!;
        Assert.Equal(new SpecialTokens(1, 2, 0), tokenizer.Special);
    }

    /// <summary>A word-level tokenizer.json whose post-processor adds BOS, as LLaMA's tokenizer.json does.</summary>
    const string WordLevelJson = """
    {
      "version": "1.0", "truncation": null, "padding": null,
      "added_tokens": [
        {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
      ],
      "normalizer": null,
      "pre_tokenizer": {"type": "Whitespace"},
      "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
      "decoder": null,
      "model": {"type": "WordLevel", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "add": 3, "the": 4, "numbers": 5, "answer": 6, "is": 7, ".": 8}, "unk_token": "<unk>"}
    }
    """;

    [Fact]
    public void A_tokenizer_json_encodes_through_hf_tokenizers_with_bos_only_when_asked()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), WordLevelJson);
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type": "llama", "bos_token_id": 1, "eos_token_id": 2}""");
        using var tokenizer = TextTokenizer.TryOpen(_dir)!;
        Assert.EndsWith("tokenizer.json", tokenizer.Source);
        Assert.Equal([1, 3, 4, 5, 8], tokenizer.Encode("add the numbers.", addBos: true));
        Assert.Equal([6, 7, 0, 8], tokenizer.Encode("answer is nine.", addBos: false));
    }

    [Fact]
    public void Rendered_chat_text_through_tokenizer_json_keeps_the_templates_bos_and_eos_and_adds_none()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), WordLevelJson);
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type": "llama", "bos_token_id": 1, "eos_token_id": 2}""");
        using var tokenizer = TextTokenizer.TryOpen(_dir)!;
        // The post-processor's BOS goes; the BOS and EOS the template wrote as text stay, once each.
        Assert.Equal([1, 3, 4, 5, 8, 2], tokenizer.EncodeRendered("<s>add the numbers.</s>"));
        Assert.Equal([6, 7, 2], tokenizer.EncodeRendered("answer is</s>"));
        Assert.Equal([], tokenizer.EncodeRendered(""));
    }

    [Fact]
    public void A_folder_without_tokenizer_files_has_no_tokenizer()
    {
        Assert.Null(TextTokenizer.TryOpen(TestPaths.Fixture("hf-llama-tiny-sharded")));
    }

    [Fact]
    public void A_corrupt_tokenizer_model_is_reported_with_its_path()
    {
        File.WriteAllBytes(Path.Combine(_dir, "tokenizer.model"), [1, 2, 3, 250, 251]);
        var e = Assert.Throws<Errors.CheckpointFormatException>(() => TextTokenizer.TryOpen(_dir));
        Assert.Contains("tokenizer.model", e.Message);
    }
}
