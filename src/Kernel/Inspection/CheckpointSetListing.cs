using System.Text.Json.Nodes;
using Ckpt.Conversion;

namespace Ckpt.Inspection;

/// <summary>
/// What `ckpt inspect` prints for a <see cref="CheckpointSet"/>: one row per member (step, format, tensors,
/// parameters by dtype, bytes), in text or as the JSON object `{ "path", "format": "set", "members": [...] }`.
/// </summary>
public static class CheckpointSetListing
{
    /// <summary>Writes the listing where <paramref name="path"/> is a set; false (nothing written) where it is not.</summary>
    public static bool TryWrite(string path, bool json, TextWriter output)
    {
        if (CheckpointSet.TryOpen(path) is not { } set) return false;
        if (json) output.WriteLine(VerbJson.Serialize(ToJson(set, path)));
        else WriteText(output, set, path);
        return true;
    }

    public static JsonObject ToJson(CheckpointSet set, string path) => new()
    {
        ["path"] = path,
        ["format"] = "set",
        ["memberCount"] = set.Members.Count,
        ["members"] = new JsonArray(set.Members.Select(m => (JsonNode)new JsonObject
        {
            ["name"] = m.Name,
            ["step"] = m.Step,
            ["format"] = m.Format,
            ["tensors"] = m.TensorCount,
            ["parameterCount"] = m.Parameters,
            ["parametersByDtype"] = new JsonObject(m.ParametersByDType.Select(kv => KeyValuePair.Create(kv.Key.ToString(), (JsonNode?)kv.Value))),
            ["bytes"] = m.Bytes,
        }).ToArray()),
        ["leftOut"] = new JsonArray(set.LeftOut.Select(n => (JsonNode)n).ToArray()),
    };

    public static void WriteText(TextWriter o, CheckpointSet set, string path)
    {
        o.WriteLine(path);
        o.WriteLine($"  format      set: {set.Summary}");
        if (set.LeftOut.Count > 0) o.WriteLine($"  left out    {string.Join(", ", set.LeftOut)}");
        int nameWidth = Math.Max(6, set.Members.Max(m => m.Name.Length));
        o.WriteLine();
        o.WriteLine($"  {"member".PadRight(nameWidth)}  {"step",8}  {"format",-12} {"tensors",7} {"parameters",14}  {"dtypes",-20} {"bytes",10}");
        foreach (var m in set.Members)
            o.WriteLine($"  {m.Name.PadRight(nameWidth)}  {(m.Step?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"),8}  {m.Format,-12} {m.TensorCount,7} {m.Parameters,14:N0}  "
                + $"{string.Join(", ", m.ParametersByDType.Keys),-20} {ByteSize.Format(m.Bytes),10}");
    }
}
