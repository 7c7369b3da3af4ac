using Microsoft.ML.Tokenizers;

namespace Ckpt.Training.Data;

/// <summary>A SentencePiece `tokenizer.model` (LLaMA, OpenLLaMA), read by Microsoft.ML.Tokenizers.</summary>
internal sealed class SentencePieceTextTokenizer : TextTokenizer
{
    SentencePieceTokenizer _tokenizer = null!;

    public static SentencePieceTextTokenizer Open(string path, SpecialTokens special, IReadOnlyDictionary<string, int>? addedTokens = null)
    {
        SentencePieceTokenizer tokenizer;
        try
        {
            using var stream = RegularFile.OpenRead(path);
            tokenizer = SentencePieceTokenizer.Create(stream, false, false);
        }
        catch (Exception e) when (e is not OutOfMemoryException) // protobuf parse errors derive from IOException
        {
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, path, null, $"tokenizer.model is not a SentencePiece model this reader supports: {e.Message}", inner: e);
        }
        // The model's own ids stand in for what config.json does not say.
        special = special with { Bos = special.Bos ?? tokenizer.BeginningOfSentenceId, Eos = special.Eos ?? tokenizer.EndOfSentenceId };
        var texts = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            [tokenizer.BeginningOfSentenceToken] = tokenizer.BeginningOfSentenceId,
            [tokenizer.EndOfSentenceToken] = tokenizer.EndOfSentenceId,
            [tokenizer.UnknownToken] = tokenizer.UnknownId,
        };
        foreach (var (text, id) in addedTokens ?? new Dictionary<string, int>()) texts[text] = id;
        return new SentencePieceTextTokenizer { Special = special, Source = path, _tokenizer = tokenizer, SpecialTexts = texts };
    }

    public override int[] Encode(string text, bool addBos)
    {
        var ids = _tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
        return addBos && Special.Bos is int bos ? [bos, .. ids] : [.. ids];
    }

    public override string Decode(IReadOnlyList<int> ids) => _tokenizer.Decode(ids, considerSpecialTokens: false);
}
