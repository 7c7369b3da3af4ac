using Ckpt.Errors;

namespace Ckpt.Cli.Commands;

/// <summary>
/// Every error ends as one `ckpt:` line on stderr and an exit code, worded by the Kernel's
/// <see cref="UserFacingError"/> so a magic says the same; no stack traces, no exception type names.
/// </summary>
static class Failure
{
    public const int BadInput = 2;
    public const int Other = 1;
    public const int Cancelled = 130;

    public static int Report(Exception e, string command, TextWriter stderr)
    {
        var error = UserFacingError.From(e, $"running ckpt {command}".TrimEnd());
        stderr.WriteLine($"ckpt: {error.Sentence}");
        return error.Kind switch
        {
            ErrorKind.BadInput => BadInput,
            ErrorKind.Cancelled => Cancelled,
            _ => Other,
        };
    }
}
