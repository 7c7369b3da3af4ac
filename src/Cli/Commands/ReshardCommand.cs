using Ckpt.Resharding;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt reshard`: the options of <see cref="ReshardVerb"/>, a plan or a call to <see cref="Resharder.Reshard"/>, a summary or <see cref="ReshardJson"/>.</summary>
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
            if (asJson) stdout.WriteLine(VerbJson.Serialize(ReshardJson.Planned(layout, plans)));
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
        if (asJson) stdout.WriteLine(VerbJson.Serialize(ReshardJson.Written(result)));
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
}
