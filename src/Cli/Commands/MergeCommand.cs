using System.CommandLine;
using Ckpt.Cli.Progress;
using Ckpt.Conversion;
using Ckpt.Merging;

namespace Ckpt.Cli.Commands;

static class MergeCommand
{
    public static Command Create(TextWriter stdout, Terminal? terminal) => VerbCommand.Create(MergeVerb.Definition, (given, cancellationToken) =>
    {
        var (request, output, maxShardBytes, overwrite) = MergeVerb.Bind(given);
        var spec = request.ToSpec();
        var (progress, bar) = ProgressBar.ForBytes(terminal, stdout);
        var report = MergeExecutor.RunToDirectory(spec, output, maxShardBytes, configSource: request.Config, overwrite: overwrite,
            cancellationToken: cancellationToken, progress: progress);
        bar?.Done();
        if (VerbCommand.Flag(given, "--json")) stdout.WriteLine(report.ToJson());
        else stdout.WriteLine($"{report.Method}: merged {report.Tensors} tensors of {spec.Models.Count} models into {report.Files!.Count} file(s) in {output} "
            + $"({ByteSize.Format(report.InputBytes)} read in {report.Seconds:F1} s)");
        return Task.FromResult(0);
    });
}
