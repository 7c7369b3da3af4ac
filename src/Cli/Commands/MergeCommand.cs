using Ckpt.Merging;

namespace Ckpt.Cli.Commands;

static class MergeCommand
{
    public static Command Create(TextWriter stdout, Terminal? terminal) => VerbCommand.Create(MergeVerb.Definition, MergeVerb.Bind, (bound, asJson, cancellationToken) =>
    {
        var (request, output, maxShardBytes, overwrite) = bound;
        var spec = request.ToSpec();
        var (progress, bar) = ProgressBar.ForBytes(terminal, stdout);
        var report = MergeExecutor.RunToDirectory(spec, output, maxShardBytes, configSource: request.Config, overwrite: overwrite,
            cancellationToken: cancellationToken, progress: progress);
        bar?.Done();
        if (asJson) stdout.WriteLine(report.ToJson());
        else stdout.WriteLine($"{report.Method}: merged {report.Tensors} tensors of {spec.Models.Count} models into {report.Files!.Count} file(s) in {output} "
            + $"({ByteSize.Format(report.InputBytes)} read in {report.Seconds:F1} s)");
    });
}
