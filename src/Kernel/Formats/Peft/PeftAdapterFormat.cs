using Ckpt.Formats.Safetensors;
using Ckpt.Formats.Text;
using Ckpt.Formats.TorchSave;

namespace Ckpt.Formats.Peft;

/// <summary>
/// A PEFT adapter folder, as `save_pretrained` writes it: `adapter_config.json` and `adapter_model.safetensors`
/// (or `adapter_model.bin`), perhaps inside an HF Trainer `checkpoint-N/` with its trainer state beside it. The
/// tensors are the weights file's, read by its own reader; the adapter's settings go into the metadata as `peft.*`
/// (base model, type, r, alpha, targets, modules_to_save) and the trainer files as `trainer.*`, so every surface that
/// shows metadata shows them. Any PEFT type is described; only LoRA is trained or merged (<see cref="Training.LoraConfig"/>).
///
/// Invariants, each with its reason:
/// - `adapter_config.json` is a JSON object (<see cref="FormatErrorReason.MetadataInvalid"/>).
/// - the folder holds the weights the config describes (<see cref="FormatErrorReason.MissingFile"/>).
/// </summary>
public sealed class PeftAdapterFormat : ICheckpointFormat
{
    const string ConfigFile = "adapter_config.json";
    static readonly string[] WeightFiles = ["adapter_model.safetensors", "adapter_model.bin"];

    public string Name => "peft-adapter";
    public int Priority => 30;

    public bool Matches(ICheckpointStorage storage, string entry) => entry.Length == 0 && storage.Exists(ConfigFile);

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var config = ReadConfig(storage);
        var weights = WeightFiles.FirstOrDefault(storage.Exists)
            ?? throw new CheckpointFormatException(FormatErrorReason.MissingFile, storage.Root, null,
                $"the folder holds {ConfigFile} but not the adapter weights it describes", string.Join(" or ", WeightFiles), "neither");
        ICheckpointFormat reader = weights.EndsWith(".bin", StringComparison.Ordinal) ? new TorchSaveFormat() : new SafetensorsFormat();
        var manifest = reader.Describe(storage, weights, cancellationToken);
        var metadata = new Dictionary<string, string>(manifest.Metadata, StringComparer.Ordinal);
        foreach (var kv in config) metadata[kv.Key] = kv.Value;
        foreach (var kv in TrainerStateFiles.Describe(storage, "")) metadata[kv.Key] = kv.Value;
        return manifest with
        {
            Format = Name,
            Framework = "peft",
            Metadata = metadata,
            Files = [.. manifest.Files, new StorageFile(ConfigFile, storage.Length(ConfigFile))],
        };
    }

    static Dictionary<string, string> ReadConfig(ICheckpointStorage storage)
    {
        var bytes = SmallFile.Read(storage, ConfigFile, 4 * 1024 * 1024)
            ?? throw new CheckpointFormatException(FormatErrorReason.TooLarge, ConfigFile, null, "the adapter config is larger than 4 MiB");
        using var doc = JsonLimits.Parse(bytes, ConfigFile, FormatErrorReason.MetadataInvalid);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, ConfigFile, null, "the adapter config is not a JSON object",
                "object", doc.RootElement.ValueKind.ToString().ToLowerInvariant());
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, name) in new[]
        {
            ("base_model_name_or_path", "peft.base_model"), ("peft_type", "peft.type"), ("task_type", "peft.task_type"),
            ("r", "peft.r"), ("lora_alpha", "peft.lora_alpha"), ("target_modules", "peft.target_modules"),
            ("modules_to_save", "peft.modules_to_save"), ("use_rslora", "peft.use_rslora"), ("use_dora", "peft.use_dora"),
            ("peft_version", "peft.version"),
        })
            if (doc.RootElement.TryGetProperty(key, out var v))
                result[name] = Text(v);
        return result;
    }

    // PEFT writes null for "none" (modules_to_save) and a string for a regex target (target_modules).
    static string Text(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString()!,
        JsonValueKind.Null => "none",
        JsonValueKind.Array => string.Join(", ", v.EnumerateArray().Select(Text)),
        _ => v.GetRawText(),
    };
}
