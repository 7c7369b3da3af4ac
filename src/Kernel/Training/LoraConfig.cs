using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Ckpt.Formats.Text;

namespace Ckpt.Training;

/// <summary>
/// PEFT's LoraConfig, as `adapter_config.json` holds it. Defaults are PEFT's (r 8, alpha 8, dropout 0,
/// no rsLoRA). Options this implementation does not reproduce (DoRA, per-layer rank/alpha patterns,
/// layers_to_transform, LoRA biases) are refused when reading rather than silently ignored.
/// </summary>
public sealed record LoraConfig
{
    public int R { get; init; } = 8;
    public double Alpha { get; init; } = 8;
    public double Dropout { get; init; }
    /// <summary>Module names (last path segment, e.g. q_proj) or, when <see cref="TargetRegex"/> is set, a full-path regex.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["q_proj", "v_proj"];
    public string? TargetRegex { get; init; }
    public bool FanInFanOut { get; init; }
    public bool UseRsLora { get; init; }
    public string? BaseModelNameOrPath { get; init; }

    /// <summary>alpha / r, or alpha / √r with rsLoRA.</summary>
    public double Scaling => UseRsLora ? Alpha / Math.Sqrt(R) : Alpha / R;

    public bool Targets(string modulePath)
    {
        if (TargetRegex is not null) return Regex.IsMatch(modulePath, "^(?:" + TargetRegex + ")$");
        var last = modulePath[(modulePath.LastIndexOf('.') + 1)..];
        return TargetModules.Contains(last) || TargetModules.Contains(modulePath);
    }

    public static LoraConfig Read(string path)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(JsonLimits.Parse(RegularFile.ReadAllText(path), path, FormatErrorReason.MetadataInvalid).RootElement.GetRawText()); }
        catch (JsonException e) { throw Invalid(path, "adapter_config.json is not valid JSON", e); }
        if (root is not JsonObject o) throw Invalid(path, "adapter_config.json is not a JSON object");
        var type = o["peft_type"]?.GetValue<string>();
        if (type is not null and not "LORA")
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, path, null, "only LoRA adapters are supported", "LORA", type);
        foreach (var (key, isSet) in new (string, Func<JsonNode?, bool>)[]
        {
            ("use_dora", n => n?.GetValue<bool>() == true),
            ("lora_bias", n => n?.GetValue<bool>() == true),
            ("rank_pattern", n => n is JsonObject { Count: > 0 }),
            ("alpha_pattern", n => n is JsonObject { Count: > 0 }),
            ("layers_to_transform", n => n is not null),
            ("modules_to_save", n => n is JsonArray { Count: > 0 }),
        })
            if (isSet(o[key])) throw new CheckpointFormatException(FormatErrorReason.Unsupported, path, null, $"the adapter sets {key}, which is not implemented");
        if (o["bias"]?.GetValue<string>() is { } bias && bias != "none")
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, path, null, "only bias \"none\" is implemented", "none", bias);

        var targets = o["target_modules"];
        return new LoraConfig
        {
            R = o["r"]?.GetValue<int>() ?? 8,
            Alpha = o["lora_alpha"]?.GetValue<double>() ?? 8,
            Dropout = o["lora_dropout"]?.GetValue<double>() ?? 0,
            TargetModules = targets is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToArray() : [],
            TargetRegex = targets is JsonValue v ? v.GetValue<string>() : null,
            FanInFanOut = o["fan_in_fan_out"]?.GetValue<bool>() ?? false,
            UseRsLora = o["use_rslora"]?.GetValue<bool>() ?? false,
            BaseModelNameOrPath = o["base_model_name_or_path"]?.GetValue<string>(),
        };
    }

    /// <summary>The adapter_config.json PEFT writes for this configuration (the keys PEFT needs to load it back).</summary>
    public string ToJson(string taskType = "CAUSAL_LM")
    {
        var o = new JsonObject
        {
            ["base_model_name_or_path"] = BaseModelNameOrPath,
            ["bias"] = "none",
            ["fan_in_fan_out"] = FanInFanOut,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["lora_alpha"] = Alpha,
            ["lora_dropout"] = Dropout,
            ["modules_to_save"] = null,
            ["peft_type"] = "LORA",
            ["r"] = R,
            ["target_modules"] = TargetRegex is not null ? JsonValue.Create(TargetRegex) : new JsonArray(TargetModules.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
            ["task_type"] = taskType,
            ["use_dora"] = false,
            ["use_rslora"] = UseRsLora,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    static CheckpointFormatException Invalid(string path, string detail, Exception? inner = null) =>
        new(FormatErrorReason.MetadataInvalid, path, null, detail, inner: inner);
}
