using Ckpt.Resharding;

namespace Ckpt.Cli.Commands;

static class ReshardCommand
{
    public static Command Create(TextWriter stdout, Terminal? terminal) => VerbCommand.Create(ReshardVerb.Definition, ReshardVerb.Bind, (request, asJson, cancellationToken) =>
    {
        var layout = request.Layout.Resolve();
        using var ckpt = Checkpoint.Open(request.Path);
        if (request.Output is null)
        {
            layout.RequireFits(ckpt.Manifest, ckpt.Path);
            var plans = ReshardVerb.Plan(ckpt.Manifest, layout, request.Only, ckpt.Storage.Tuning);
            if (asJson) stdout.WriteLine(ManifestJson.Serialize(PlanReport(layout, plans)));
            else
            {
                stdout.WriteLine($"planned {layout.Description}; nothing written: give --out to write the DCP checkpoint");
                foreach (var (plan, _) in plans)
                    stdout.WriteLine($"  rank {plan.Rank}: needs {ByteSize.Format(plan.BytesNeeded)}, reads {ByteSize.Format(plan.BytesRead)} in {plan.ReadCount} reads");
            }
            return;
        }
        var (progress, bar) = ProgressBar.ForBytes(terminal, stdout);
        var result = Resharder.Reshard(ckpt, new ReshardOptions(layout, request.Output, request.Only, request.Overwrite, request.Share), cancellationToken, progress);
        bar?.Done();
        if (asJson) stdout.WriteLine(ManifestJson.Serialize(Report(result)));
        else
        {
            if (request.Share is { } share)
                stdout.WriteLine($"wrote part {share.Rank} of {share.Ranks}; `ckpt finalize {request.Output}` commits the output once every part exists");
            stdout.WriteLine($"wrote {layout.Description}: {result.Written.ChunkCount} chunks, {ByteSize.Format(result.Written.BytesWritten)}, to {result.Written.Files.Count} file(s) in {result.Written.Directory}");
            foreach (var r in result.Ranks)
                stdout.WriteLine($"  rank {r.Rank}: needs {ByteSize.Format(r.BytesNeeded)}, reads {ByteSize.Format(r.BytesRead)} in {r.ReadCount} reads; wrote {r.ChunksWritten} chunks");
            if (result.SkippedObjects.Count > 0)
                stdout.WriteLine($"skipped {result.SkippedObjects.Count} non-tensor values that are not plain data: {string.Join(", ", result.SkippedObjects.Take(5))}");
        }
    });

    /// <summary>A plan-only run (no --out): the keys of <see cref="Report"/> that a plan has, with `planOnly` true.</summary>
    static JsonObject PlanReport(TargetLayout layout, IReadOnlyList<(RankPlan Plan, double Seconds)> plans) => new()
    {
        ["layout"] = layout.Description,
        ["worldSize"] = layout.WorldSize,
        ["mesh"] = new JsonArray(layout.Mesh.Select(m => (JsonNode)m).ToArray()),
        ["planOnly"] = true,
        ["ranks"] = new JsonArray(plans.Select(p => (JsonNode)new JsonObject
        {
            ["rank"] = p.Plan.Rank,
            ["tensors"] = p.Plan.Tensors.Count(t => !t.Shard.IsEmpty),
            ["bytesNeeded"] = p.Plan.BytesNeeded,
            ["bytesRead"] = p.Plan.BytesRead,
            ["reads"] = p.Plan.ReadCount,
            ["seconds"] = new JsonObject { ["plan"] = p.Seconds },
        }).ToArray()),
    };

    static JsonObject Report(ReshardResult r) => new()
    {
        ["layout"] = r.Layout.Description,
        ["worldSize"] = r.Layout.WorldSize,
        ["mesh"] = new JsonArray(r.Layout.Mesh.Select(m => (JsonNode)m).ToArray()),
        ["out"] = r.Written.Directory,
        ["files"] = new JsonArray(r.Written.Files.Select(f => (JsonNode)Path.GetFileName(f)).ToArray()),
        ["chunks"] = r.Written.ChunkCount,
        ["bytesWritten"] = r.Written.BytesWritten,
        ["sourceBytesRead"] = r.SourceBytesRead,
        ["ranks"] = new JsonArray(r.Ranks.Select(x => (JsonNode)new JsonObject
        {
            ["rank"] = x.Rank,
            ["tensors"] = x.Tensors,
            ["bytesNeeded"] = x.BytesNeeded,
            ["bytesRead"] = x.BytesRead,
            ["reads"] = x.ReadCount,
            ["chunksWritten"] = x.ChunksWritten,
            ["chunkBytesWritten"] = x.ChunkBytesWritten,
            ["seconds"] = x.PhaseSeconds is null ? null
                : new JsonObject(x.PhaseSeconds.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        }).ToArray()),
        ["objects"] = new JsonObject
        {
            ["written"] = new JsonArray(r.WrittenObjects.Select(s => (JsonNode)s).ToArray()),
            ["skipped"] = new JsonArray(r.SkippedObjects.Select(s => (JsonNode)s).ToArray()),
        },
        ["phases"] = new JsonObject(r.Timeline.Phases.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key,
            (JsonNode?)new JsonObject { ["seconds"] = kv.Value.Seconds, ["bytes"] = kv.Value.Bytes }))),
    };
}
