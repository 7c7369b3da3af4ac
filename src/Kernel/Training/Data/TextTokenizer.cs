using System.Text.Json;
using Ckpt.Errors;

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

    public virtual void Dispose() { }

    /// <summary>The folder's tokenizer, or null when it has neither tokenizer.model nor tokenizer.json (data must then be pre-tokenized).</summary>
    public static TextTokenizer? TryOpen(string modelFolder)
    {
        var special = SpecialTokens.Read(modelFolder);
        var model = Path.Combine(modelFolder, "tokenizer.model");
        if (File.Exists(model)) return SentencePieceTextTokenizer.Open(model, special);
        var json = Path.Combine(modelFolder, "tokenizer.json");
        if (File.Exists(json)) return HfJsonTextTokenizer.Open(json, special);
        return null;
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
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
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
