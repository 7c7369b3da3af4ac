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
        RegularFile.Require(path); // the Rust side opens the path itself, so a FIFO would block it where we cannot stop it
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

    (int Prefix, int Suffix)? _added;

    /// <summary>HF's Rust tokenizer already reads special-token text; only what its post-processor adds is removed.</summary>
    public override int[] EncodeRendered(string text)
    {
        var (prefix, suffix) = _added ??= PostProcessorTokens();
        var ids = Raw(text);
        return ids.Length >= prefix + suffix ? ids[prefix..(ids.Length - suffix)] : ids;
    }

    int[] Raw(string text) => _tokenizer.Encode(text).Select(i => checked((int)i)).ToArray();

    /// <summary>
    /// How many ids the post-processor puts before and after the text: encode("") is exactly those, encode("a") has
    /// the text's ids between them, so the split is where both ends agree.
    /// </summary>
    (int, int) PostProcessorTokens()
    {
        var empty = Raw("");
        var one = Raw("a");
        for (int prefix = empty.Length; prefix >= 0; prefix--)
        {
            int suffix = empty.Length - prefix;
            if (one.Length >= empty.Length && one.AsSpan(0, prefix).SequenceEqual(empty.AsSpan(0, prefix))
                && one.AsSpan(one.Length - suffix).SequenceEqual(empty.AsSpan(prefix))) return (prefix, suffix);
        }
        return (0, 0);
    }

    public override string Decode(IReadOnlyList<int> ids) => _tokenizer.Decode(ids.Select(i => checked((uint)i)).ToArray());

    public override void Dispose() => (_tokenizer as IDisposable)?.Dispose();
}
