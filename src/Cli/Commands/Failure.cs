using Ckpt.Errors;

namespace Ckpt.Cli.Commands;

/// <summary>Every error ends as one line on stderr and a non-zero exit code; no stack traces.</summary>
static class Failure
{
    public const int BadInput = 2;
    public const int Other = 1;

    public static int Report(Exception e, TextWriter stderr)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerException!;
        switch (e)
        {
            case CheckpointFormatException f:
                stderr.WriteLine($"ckpt: {f.Message}");
                return BadInput;
            case FormatException or ArgumentException:
                stderr.WriteLine($"ckpt: {e.Message.Split('\n')[0]}");
                return BadInput;
            case OperationCanceledException:
                stderr.WriteLine("ckpt: cancelled");
                return 130;
            default:
                stderr.WriteLine($"ckpt: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                return Other;
        }
    }
}
