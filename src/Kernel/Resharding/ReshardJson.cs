using System.Text.Json.Nodes;
using Ckpt.Monitoring;

namespace Ckpt.Resharding;

/// <summary>
/// `ckpt reshard --json` (docs/json.md): what <see cref="Resharder.Reshard"/> wrote, or with no `--out` the rank plans of
/// <see cref="ReshardVerb.Plan"/>, which carry the keys of a written report that a plan has and `planOnly` true.
/// </summary>
public static class ReshardJson
{
    public static JsonObject Written(ReshardResult r)
    {
        var report = Head(r.Layout);
        report["out"] = r.Written.Directory;
        report["files"] = new JsonArray(r.Written.Files.Select(f => (JsonNode)Path.GetFileName(f)).ToArray());
        report["chunks"] = r.Written.ChunkCount;
        report["bytesWritten"] = r.Written.BytesWritten;
        report["sourceBytesRead"] = r.SourceBytesRead;
        report["ranks"] = new JsonArray(r.Ranks.Select(x =>
        {
            var rank = Rank(x.Rank, x.Tensors, x.BytesNeeded, x.BytesRead, x.ReadCount);
            rank["chunksWritten"] = x.ChunksWritten;
            rank["chunkBytesWritten"] = x.ChunkBytesWritten;
            rank["seconds"] = x.PhaseSeconds is null ? null
                : new JsonObject(x.PhaseSeconds.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
            return (JsonNode)rank;
        }).ToArray());
        report["objects"] = new JsonObject
        {
            ["written"] = new JsonArray(r.WrittenObjects.Select(s => (JsonNode)s).ToArray()),
            ["skipped"] = new JsonArray(r.SkippedObjects.Select(s => (JsonNode)s).ToArray()),
        };
        report["phases"] = OperationTimeline.PhasesJson(r.Timeline.Phases.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        return report;
    }

    public static JsonObject Planned(TargetLayout layout, IReadOnlyList<(RankPlan Plan, double Seconds)> plans)
    {
        var report = Head(layout);
        report["planOnly"] = true;
        report["ranks"] = new JsonArray(plans.Select(p =>
        {
            var rank = Rank(p.Plan.Rank, p.Plan.HeldTensors, p.Plan.BytesNeeded, p.Plan.BytesRead, p.Plan.ReadCount);
            rank["seconds"] = new JsonObject { ["plan"] = p.Seconds };
            return (JsonNode)rank;
        }).ToArray());
        return report;
    }

    static JsonObject Head(TargetLayout layout) => new()
    {
        ["layout"] = layout.Description,
        ["worldSize"] = layout.WorldSize,
        ["mesh"] = new JsonArray(layout.Mesh.Select(m => (JsonNode)m).ToArray()),
    };

    static JsonObject Rank(int rank, int tensors, long bytesNeeded, long bytesRead, int reads) => new()
    {
        ["rank"] = rank,
        ["tensors"] = tensors,
        ["bytesNeeded"] = bytesNeeded,
        ["bytesRead"] = bytesRead,
        ["reads"] = reads,
    };
}
