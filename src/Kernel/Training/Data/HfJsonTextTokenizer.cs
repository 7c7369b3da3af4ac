using Ckpt.Errors;

namespace Ckpt.Training.Data;

/// <summary>
/// A HF `tokenizer.json`, encoded by HF's Rust tokenizers through Tokenizers.DotNet. That binding always applies the
/// file's post-processor (add_special_tokens=True), so a BOS it adds is stripped or kept to honour <c>addBos</c>.
/// </summary>
internal sealed class HfJsonTextTokenizer : TextTokenizer
{
    Tokenizers.DotNet.Tokenizer _tokenizer = null!;

    public static HfJsonTextTokenizer Open(string path, SpecialTokens special)
    {
        try
        {
            return new HfJsonTextTokenizer { Special = special, Source = path, _tokenizer = new Tokenizers.DotNet.Tokenizer(path) };
        }
        catch (Exception e) when (e is not OutOfMemoryException and not DllNotFoundException)
        {
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, path, null, $"tokenizer.json could not be loaded: {e.Message}", inner: e);
        }
    }

    public override int[] Encode(string text, bool addBos)
    {
        var ids = _tokenizer.Encode(text).Select(i => checked((int)i)).ToList();
        bool hasBos = Special.Bos is int b && ids.Count > 0 && ids[0] == b;
        if (hasBos && !addBos) ids.RemoveAt(0);
        else if (!hasBos && addBos && Special.Bos is int bos) ids.Insert(0, bos);
        // An EOS the post-processor appends belongs to the caller's completion handling, not the encoding.
        if (ids.Count > 0 && Special.Eos is int eos && ids[^1] == eos) ids.RemoveAt(ids.Count - 1);
        return ids.ToArray();
    }

    public override void Dispose() => (_tokenizer as IDisposable)?.Dispose();
}
