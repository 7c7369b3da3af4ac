using System.Text.Json.Nodes;

namespace Ckpt.Forensics.Restor.Toy;

/// <summary>
/// A word-level HF tokenizer.json (WordLevel model, lower-casing normaliser, Whitespace pre-tokenizer, which also
/// splits punctuation off) for a closed vocabulary. HF's tokenizers library loads it as it is, so the toy models'
/// folders open in Ckpt (and transformers) like any other model folder; with no decoder, decoding joins words by spaces.
/// Ids 0-3 are &lt;pad&gt;, &lt;s&gt; (BOS), &lt;/s&gt; (EOS) and &lt;unk&gt;.
/// </summary>
public static class WordLevelTokenizer
{
    public const int Pad = 0, Bos = 1, Eos = 2, Unk = 3;
    static readonly string[] Specials = ["<pad>", "<s>", "</s>", "<unk>"];

    public static JsonObject Build(IEnumerable<string> words, out int vocabSize)
    {
        var vocab = new JsonObject();
        int id = 0;
        foreach (var s in Specials) vocab[s] = id++;
        foreach (var w in words.Select(w => w.ToLowerInvariant()).Distinct(StringComparer.Ordinal).Where(w => !Specials.Contains(w))) vocab[w] = id++;
        vocabSize = id;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Specials.Select((s, i) => (JsonNode)new JsonObject
            {
                ["id"] = i, ["content"] = s, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            }).ToArray()),
            ["normalizer"] = new JsonObject { ["type"] = "Lowercase" },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" },
            ["post_processor"] = null,
            ["decoder"] = null,
            ["model"] = new JsonObject { ["type"] = "WordLevel", ["vocab"] = vocab, ["unk_token"] = "<unk>" },
        };
    }
}
