using Ckpt.Forensics.SmoothInv;

namespace Ckpt.Cli.Commands;

static class SmoothInvCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(SmoothInvVerb.Definition, SmoothInvVerb.Bind, (request, asJson, cancellationToken) =>
    {
        var result = SmoothInvRun.Execute(request, cancellationToken: cancellationToken);
        if (asJson) stdout.WriteLine(result.ToJson());
        else
        {
            var c = CultureInfo.InvariantCulture;
            stdout.WriteLine($"{result.Architecture} ({result.Classes} classes) gives the image class {result.SourceClass}");
            if (result.Scores is { } scores)
            {
                stdout.WriteLine("class  score   smoothed p  trigger L2");
                foreach (var s in scores)
                    stdout.WriteLine(string.Format(c, "{0,5}  {1,6:F4}  {2,10:F4}  {3,10:F4}", s.Class, s.Score, s.SmoothedProbability, s.Norm));
                stdout.WriteLine($"identified target: class {result.Target}");
            }
            stdout.WriteLine(string.Format(c, "trigger toward class {0}: L2 {1:F4} (budget {2}), smoothed p {3:F4}; the synthesised image is classified {4}",
                result.Target, result.TriggerNorm, result.Epsilon, result.SmoothedProbability, result.TargetClassified));
            stdout.WriteLine($"wrote {string.Join(", ", result.Files)} to {request.Output}");
        }
    });
}
