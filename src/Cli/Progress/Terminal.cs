namespace Ckpt.Cli.Progress;

/// <summary>
/// stdout as a terminal: its width, and the smallest write that earns a progress bar. There is none (null) when
/// stdout is redirected or piped, so a script's output stays what it was, byte for byte.
/// </summary>
public sealed record Terminal(int Columns)
{
    /// <summary>Operations that write less than this finish before a bar would tell anyone anything.</summary>
    public const long LongOperationBytes = 1_000_000_000;

    public long MinimumBytes { get; init; } = LongOperationBytes;

    /// <summary>The process's own stdout, when it is a terminal.</summary>
    public static Terminal? OfConsole()
    {
        if (Console.IsOutputRedirected) return null;
        int columns;
        try { columns = Console.WindowWidth; }
        catch (IOException) { columns = 0; }
        return new Terminal(columns > 0 ? columns : 80);
    }
}
