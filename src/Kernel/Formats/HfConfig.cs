using Ckpt.Formats.Text;

namespace Ckpt.Formats;

/// <summary>What a `config.json` beside the weights says about the model, for the manifest's metadata.</summary>
static class HfConfig
{
    public static Dictionary<string, string> Describe(ICheckpointStorage storage, string directory)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var path = directory.Length == 0 ? "config.json" : directory + "/config.json";
        if (!storage.Exists(path)) return result;
        if (SmallFile.Read(storage, path, 4 * 1024 * 1024) is not { } bytes) return result;
        try
        {
            using var doc = JsonLimits.Parse(bytes, path, FormatErrorReason.MetadataInvalid);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return result;
            foreach (var key in new[] { "model_type", "architectures", "torch_dtype", "dtype", "vocab_size", "hidden_size", "num_hidden_layers", "n_layer", "n_embd" })
                if (doc.RootElement.TryGetProperty(key, out var v))
                    result["config." + key] = v.ValueKind switch
                    {
                        JsonValueKind.String => v.GetString()!,
                        JsonValueKind.Array => string.Join(", ", v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString() : x.GetRawText())),
                        _ => v.GetRawText(),
                    };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or CheckpointFormatException) { /* a broken config.json does not make the weights unreadable */ }
        return result;
    }

    public static string Framework(ICheckpointStorage storage, string directory) =>
        storage.Exists(directory.Length == 0 ? "config.json" : directory + "/config.json") ? "transformers" : "unknown";
}
