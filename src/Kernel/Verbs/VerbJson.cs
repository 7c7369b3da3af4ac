using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Ckpt.Verbs;

/// <summary>
/// The one way every verb writes JSON (`--json`, and the logs written beside an output such as `merge_log.json`):
/// camelCase keys, nulls left out of records, NaN written as "NaN" rather than failing a run, non-ASCII names as they
/// are. docs/json.md lists each verb's keys and a test per verb checks them. Metric names (`eval_loss`,
/// `rewards/chosen`) and tensor or parameter names are data, not keys of this schema: they are kept as their source
/// spells them, inside an object of their own.
/// </summary>
public static class VerbJson
{
    /// <summary>Indented, for a report printed once.</summary>
    public static JsonSerializerOptions Options { get; } = Create(indented: true);

    /// <summary>The same options on one line, for JSON Lines (a line per step or per row).</summary>
    public static JsonSerializerOptions Line { get; } = Create(indented: false);

    static JsonSerializerOptions Create(bool indented)
    {
        var options = new JsonSerializerOptions
        {
            WriteIndented = indented,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    public static string Serialize(JsonNode node, bool indented = true) => node.ToJsonString(indented ? Options : Line);

    public static string Serialize<T>(T value, bool indented = true) => JsonSerializer.Serialize(value, indented ? Options : Line);
}
