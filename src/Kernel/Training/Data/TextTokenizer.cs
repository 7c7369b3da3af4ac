using Ckpt.Formats.Text;

namespace Ckpt.Training.Data;

/// <summary>
/// Text to token ids for a model folder. Two file formats, each read by the library that is exact for it:
/// `tokenizer.model` (SentencePiece) by Microsoft.ML.Tokenizers — SentencePiece semantics are what LLaMA/OpenLLaMA
/// were trained with (HF's auto-converted fast tokenizer is wrong for OpenLLaMA, transformers #24233) — and
/// `tokenizer.json` by Tokenizers.DotNet, a binding of HF's own Rust `tokenizers`, so its ids are HF's by construction.
/// When a folder has both, tokenizer.model wins.
/// </summary>
public abstract class TextTokenizer : IDisposable
{
    /// <summary>BOS/EOS/PAD ids (from the model's config.json, else the tokenizer's own).</summary>
    public required SpecialTokens Special { get; init; }

    /// <summary>The file this tokenizer was read from.</summary>
    public required string Source { get; init; }

    /// <summary>Ids of <paramref name="text"/>, with BOS first when <paramref name="addBos"/> and the model has one.</summary>
    public abstract int[] Encode(string text, bool addBos);

    /// <summary>
    /// Special tokens written as text (a chat template renders bos_token, eos_token, "&lt;|im_start|&gt;", ...) and their
    /// ids: the model's BOS/EOS/UNK pieces and tokenizer_config.json's added_tokens_decoder.
    /// </summary>
    public IReadOnlyDictionary<string, int> SpecialTexts { get; init; } = new Dictionary<string, int>();

    /// <summary>
    /// Ids of text rendered by a chat template, as HF tokenizes it after apply_chat_template (add_special_tokens=False,
    /// which TRL uses): special-token text becomes that token, no BOS is added, so a template that writes bos_token
    /// gives exactly one BOS. Between special tokens each piece is encoded on its own (SentencePiece's dummy prefix
    /// applies to each, as transformers' legacy LLaMA tokenizer does).
    /// </summary>
    public virtual int[] EncodeRendered(string text)
    {
        var ids = new List<int>();
        var firsts = SpecialTexts.Keys.Where(k => k.Length > 0).Select(k => k[0]).ToHashSet();
        int start = 0, at = 0;
        while (at < text.Length)
        {
            var match = !firsts.Contains(text[at]) ? null
                : SpecialTexts.Keys.Where(k => k.Length > 0 && string.CompareOrdinal(text, at, k, 0, k.Length) == 0).MaxBy(k => k.Length);
            if (match is null) { at++; continue; }
            if (at > start) ids.AddRange(Encode(text[start..at], addBos: false));
            ids.Add(SpecialTexts[match]);
            at += match.Length;
            start = at;
        }
        if (text.Length > start) ids.AddRange(Encode(text[start..], addBos: false));
        return ids.ToArray();
    }

    /// <summary>Text of <paramref name="ids"/>, special tokens left out (HF decode with skip_special_tokens=True).</summary>
    public abstract string Decode(IReadOnlyList<int> ids);

    public virtual void Dispose() { }

    /// <summary>The folder's tokenizer, or null when it has neither tokenizer.model nor tokenizer.json (data must then be pre-tokenized).</summary>
    public static TextTokenizer? TryOpen(string modelFolder)
    {
        var special = SpecialTokens.Read(modelFolder);
        var model = Path.Combine(modelFolder, "tokenizer.model");
        if (File.Exists(model)) return SentencePieceTextTokenizer.Open(model, special, AddedTokens(modelFolder));
        var json = Path.Combine(modelFolder, "tokenizer.json");
        if (File.Exists(json)) return HfJsonTextTokenizer.Open(json, special);
        return null;
    }

    /// <summary>tokenizer_config.json's added_tokens_decoder ({"32000": {"content": "&lt;|im_start|&gt;", ...}}) as text to id.</summary>
    internal static Dictionary<string, int> AddedTokens(string modelFolder)
    {
        var tokens = new Dictionary<string, int>(StringComparer.Ordinal);
        var path = Path.Combine(modelFolder, "tokenizer_config.json");
        if (!File.Exists(path)) return tokens;
        try
        {
            using var doc = JsonLimits.Parse(RegularFile.ReadAllBytes(path), path, FormatErrorReason.MetadataInvalid);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("added_tokens_decoder", out var added) && added.ValueKind == JsonValueKind.Object)
                foreach (var p in added.EnumerateObject())
                    if (int.TryParse(p.Name, out var id) && p.Value.ValueKind == JsonValueKind.Object
                        && p.Value.TryGetProperty("content", out var c) && c.GetString() is { Length: > 0 } content)
                        tokens[content] = id;
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, path, null, "tokenizer_config.json is not valid JSON", inner: e);
        }
        return tokens;
    }
}

/// <summary>Special token ids as HF's config.json names them; any may be absent.</summary>
public sealed record SpecialTokens(int? Bos, int? Eos, int? Pad)
{
    /// <summary>The id used to right-pad batches: pad, else EOS, else 0 (padded positions are masked, so the value is irrelevant).</summary>
    public int PadOrDefault => Pad ?? Eos ?? 0;

    public static SpecialTokens Read(string modelFolder)
    {
        var path = Path.Combine(modelFolder, "config.json");
        if (!File.Exists(path)) return new SpecialTokens(null, null, null);
        try
        {
            using var doc = JsonLimits.Parse(RegularFile.ReadAllBytes(path), path, FormatErrorReason.MetadataInvalid);
            var root = doc.RootElement;
            return new SpecialTokens(Id(root, "bos_token_id"), Id(root, "eos_token_id"), Id(root, "pad_token_id"));
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, path, null, "config.json is not valid JSON", inner: e);
        }
    }

    // eos_token_id may be a list (LLaMA 3); the first is the one appended to completions.
    static int? Id(JsonElement root, string key) => root.TryGetProperty(key, out var v) ? v.ValueKind switch
    {
        JsonValueKind.Number => v.GetInt32(),
        JsonValueKind.Array when v.GetArrayLength() > 0 && v[0].ValueKind == JsonValueKind.Number => v[0].GetInt32(),
        _ => null,
    } : null;
}
