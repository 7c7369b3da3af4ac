using System.CommandLine;
using System.Text.Json.Nodes;
using Ckpt.Conversion;
using Ckpt.Manifest;
using Ckpt.Outputs;
using Ckpt.Resharding;

namespace Ckpt.Cli.Commands;

static class ReshardCommand
{
    public static Command Create(TextWriter stdout)
    {
        var path = new Argument<string>("path") { Description = "checkpoint file or folder, any readable format" };
        var worldSize = new Option<int?>("--world-size") { Description = "number of target ranks (the mesh product when --mesh is given)" };
        var mesh = new Option<string?>("--mesh") { Description = "device mesh, e.g. 2x2 (ranks row-major)" };
        var placements = new Option<string?>("--placements") { Description = "one per mesh dim, e.g. \"Shard(0),Replicate()\" (default Shard(0) on a 1-D mesh)" };
        var layoutKind = new Option<string>("--layout") { Description = "dtensor (placements), flat (FSDP flat shards) or tp (Megatron tensor-parallel rules)", DefaultValueFactory = _ => "dtensor" };
        var gated = new Option<bool>("--gated") { Description = "with --layout tp: fc1 holds [gate; up] halves (SwiGLU)" };
        var output = new Option<string>("--out") { Description = "output folder for the DCP checkpoint", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = OutputFolder.OverwriteHelp };
        var only = new Option<string[]>("--only") { Description = "tensor name globs to keep", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "print a JSON report: per rank bytes read vs needed, per phase times" };
        var command = new Command("reshard", "Rewrite a checkpoint as a PyTorch DCP checkpoint for a target parallel layout, reading only what each rank needs.")
            { path, worldSize, mesh, placements, layoutKind, gated, output, overwrite, only, json };
        command.SetAction(parse =>
        {
            var layout = new LayoutRequest(parse.GetValue(layoutKind)!, parse.GetValue(worldSize), parse.GetValue(mesh), parse.GetValue(placements), parse.GetValue(gated)).Resolve();
            using var ckpt = Checkpoint.Open(parse.GetValue(path)!);
            var result = Resharder.Reshard(ckpt, new ReshardOptions(layout, parse.GetValue(output)!, parse.GetValue(only) ?? [], parse.GetValue(overwrite)));
            if (parse.GetValue(json)) stdout.WriteLine(ManifestJson.Serialize(Report(result)));
            else
            {
                stdout.WriteLine($"wrote {layout.Description}: {result.Written.ChunkCount} chunks, {ByteSize.Format(result.Written.BytesWritten)}, to {result.Written.Files.Count} file(s) in {result.Written.Directory}");
                foreach (var r in result.Ranks)
                    stdout.WriteLine($"  rank {r.Rank}: needs {ByteSize.Format(r.BytesNeeded)}, reads {ByteSize.Format(r.BytesRead)} in {r.ReadCount} reads; wrote {r.ChunksWritten} chunks");
                if (result.SkippedObjects.Count > 0)
                    stdout.WriteLine($"skipped {result.SkippedObjects.Count} non-tensor values that are not plain data: {string.Join(", ", result.SkippedObjects.Take(5))}");
            }
            return 0;
        });
        return command;
    }

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
