using Ckpt.Training.Data;

namespace Ckpt.Tests.Training;

public class TextTokenizerDecodeTests
{
    [Fact]
    public void A_sentencepiece_decode_returns_the_encoded_text_without_bos_and_eos()
    {
        var dir = TestPaths.TempDirectory("decode-sp");
        File.Copy(FineTuningFixtures.SentencePieceModel, Path.Combine(dir, "tokenizer.model"));
        using var tokenizer = TextTokenizer.TryOpen(dir)!;
        const string text = "The answer is Add.";
        var ids = tokenizer.Encode(text, addBos: true);
        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.Equal(text, tokenizer.Decode([.. ids, tokenizer.Special.Eos!.Value]));
    }

    [Fact]
    public void A_tokenizer_json_decode_leaves_special_tokens_out()
    {
        var dir = TestPaths.TempDirectory("decode-json");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), """
        {
          "version": "1.0", "truncation": null, "padding": null,
          "added_tokens": [
            {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
            {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
            {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
          ],
          "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
          "model": {"type": "WordLevel", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "add": 3, "the": 4, "numbers": 5}, "unk_token": "<unk>"}
        }
        """);
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "llama", "bos_token_id": 1, "eos_token_id": 2}""");
        using var tokenizer = TextTokenizer.TryOpen(dir)!;
        // No decoder: HF joins the tokens with spaces.
        Assert.Equal("add the numbers", tokenizer.Decode([1, 3, 4, 5, 2]));
    }
}
