using System.Text.Json.Nodes;
using Ckpt.Monitoring;

namespace Ckpt.Inspection;

/// <summary>
/// The JSON the chart renderer takes (and `ckpt diff --json` prints). Chart code lives in its own load
/// context in notebook hosts, so this text, not the records, is the contract between the two.
/// Non-finite numbers become null (JSON has no Infinity).
/// </summary>
public static class InspectionJson
{
    public static JsonObject Layout(string title, CheckpointLayout layout, ModuleTree modules)
    {
        var matrix = new JsonArray();
        for (int r = 0; r < layout.Ranks.Count; r++)
        {
            var row = new JsonArray();
            for (int f = 0; f < layout.Files.Count; f++) row.Add(layout.Bytes[r, f]);
            matrix.Add(row);
        }
        return new JsonObject
        {
            ["title"] = title,
            ["tensorCount"] = layout.TensorCount,
            ["fragmentCount"] = layout.FragmentCount,
            ["ranks"] = new JsonArray(layout.Ranks.Select(r => (JsonNode?)(r is int v ? JsonValue.Create(v) : null)).ToArray()),
            ["files"] = new JsonArray(layout.Files.Select(f => (JsonNode)f).ToArray()),
            ["bytes"] = matrix,
            ["tensors"] = new JsonArray(layout.Tensors.Select(t => (JsonNode)new JsonObject
            {
                ["name"] = t.Name,
                ["dtype"] = t.DType,
                ["shape"] = Longs(t.Shape),
                ["fragments"] = new JsonArray(t.Fragments.Select(f => (JsonNode)new JsonObject
                {
                    ["offsets"] = Longs(f.Offsets),
                    ["lengths"] = Longs(f.Lengths),
                    ["rank"] = f.Rank,
                    ["file"] = f.File,
                    ["payloadOffset"] = f.PayloadOffset,
                    ["payloadLength"] = f.PayloadLength,
                    ["bytes"] = f.Bytes,
                }).ToArray()),
            }).ToArray()),
            ["modules"] = Modules(modules),
        };
    }

    public static JsonObject Modules(ModuleTree tree) => new()
    {
        ["depth"] = tree.Depth,
        ["tensorCount"] = tree.TensorCount,
        ["nodes"] = new JsonArray(tree.Nodes.Select(n => (JsonNode)new JsonObject
        {
            ["id"] = n.Id, ["label"] = n.Label, ["parent"] = n.Parent, ["bytes"] = n.Bytes,
            ["elements"] = n.Elements, ["tensors"] = n.Tensors, ["dtype"] = n.DType,
        }).ToArray()),
    };

    public static JsonObject Diff(DiffReport d) => new()
    {
        ["a"] = d.PathA,
        ["b"] = d.PathB,
        ["added"] = new JsonArray(d.Added.Select(Summary).ToArray()),
        ["removed"] = new JsonArray(d.Removed.Select(Summary).ToArray()),
        ["reshaped"] = new JsonArray(d.Reshaped.Select(Change).ToArray()),
        ["dtypeChanged"] = new JsonArray(d.DTypeChanged.Select(Change).ToArray()),
        ["changes"] = new JsonArray(d.Changes.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name, ["elements"] = c.Elements, ["relativeL2"] = Finite(c.RelativeL2), ["maxAbsDiff"] = Finite(c.MaxAbsDiff),
        }).ToArray()),
        ["layers"] = new JsonArray(d.Layers.Select(l => (JsonNode)new JsonObject
        {
            ["layer"] = l.Layer, ["tensors"] = l.Tensors, ["relativeL2"] = Finite(l.RelativeL2), ["maxAbsDiff"] = Finite(l.MaxAbsDiff),
        }).ToArray()),
    };

    public static JsonObject Statistics(TensorStatistics s) => new()
    {
        ["name"] = s.Name,
        ["dtype"] = s.DType,
        ["shape"] = Longs(s.Shape),
        ["elements"] = s.Elements,
        ["min"] = Finite(s.Min), ["max"] = Finite(s.Max), ["mean"] = Finite(s.Mean), ["std"] = Finite(s.Std),
        ["nan"] = s.NaNCount, ["posInf"] = s.PositiveInfinityCount, ["negInf"] = s.NegativeInfinityCount,
        ["zeroFraction"] = s.ZeroFraction,
        ["binEdges"] = new JsonArray(s.BinEdges.Select(e => (JsonNode?)Finite(e)).ToArray()),
        ["binCounts"] = Longs(s.BinCounts),
    };

    /// <summary>Events of one operation, capped at <paramref name="maxEvents"/> (the longest kept), times in seconds.</summary>
    public static JsonObject Timeline(OperationTimeline t, int maxEvents = 2000)
    {
        var events = t.Events;
        var kept = events.Count <= maxEvents ? events
            : events.OrderByDescending(e => e.End - e.Start).Take(maxEvents).OrderBy(e => e.Start).ToList();
        return new JsonObject
        {
            ["operation"] = t.Operation,
            ["eventCount"] = events.Count,
            ["events"] = new JsonArray(kept.Select(e => (JsonNode)new JsonObject
            {
                ["phase"] = e.Phase, ["subject"] = e.Subject, ["worker"] = e.Worker,
                ["start"] = e.Start.TotalSeconds, ["end"] = e.End.TotalSeconds, ["bytes"] = e.Bytes,
            }).ToArray()),
        };
    }

    static JsonNode Summary(TensorSummary t) => new JsonObject { ["name"] = t.Name, ["dtype"] = t.DType, ["shape"] = Longs(t.Shape) };

    static JsonNode Change(ShapeChange c) => new JsonObject
    {
        ["name"] = c.Name, ["dtypeA"] = c.DTypeA, ["dtypeB"] = c.DTypeB, ["shapeA"] = Longs(c.ShapeA), ["shapeB"] = Longs(c.ShapeB),
    };

    static JsonArray Longs(IEnumerable<long> xs) => new(xs.Select(x => (JsonNode)x).ToArray());

    static JsonNode? Finite(double? v) => v is double d && double.IsFinite(d) ? JsonValue.Create(d) : null;
}
