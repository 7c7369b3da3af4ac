namespace Ckpt.Errors;

/// <summary>What kind of failure a user is shown: their input (exit 2), a stop they asked for, or a bug in Ckpt (exit 1).</summary>
public enum ErrorKind { BadInput, Cancelled, Internal }

/// <summary>
/// The one sentence a user sees for a failure, the same from the CLI and from a magic. It never names an exception
/// type and is always one line (control characters escaped). Input a user can produce is refused as
/// <see cref="CheckpointFormatException"/> or <see cref="ArgumentException"/> before any work; anything else that
/// escapes is a bug, said as such so it can be told apart and reported.
/// </summary>
public sealed record UserFacingError(string Sentence, ErrorKind Kind)
{
    /// <param name="doing">What was being done, for an internal error: "converting", "#!ckpt-merge".</param>
    public static UserFacingError From(Exception e, string doing)
    {
        e = Innermost(e);
        var (sentence, kind) = e switch
        {
            CheckpointFormatException => (e.Message, ErrorKind.BadInput),
            OperationCanceledException => ("cancelled", ErrorKind.Cancelled),
            // The user's own files and system: a path that is missing or unreadable, a full disk. .NET's messages for
            // these name the path and the cause without the type.
            ArgumentException or FormatException or NotSupportedException or InvalidDataException
                or IOException or UnauthorizedAccessException => (e.Message.TrimEnd(), ErrorKind.BadInput),
            OutOfMemoryException => ($"ran out of memory while {doing}; an input is larger than this machine can hold", ErrorKind.Internal),
            _ => ($"internal error while {doing}: {e.Message.TrimEnd()} (please report this)", ErrorKind.Internal),
        };
        return new(ControlCharacters.Escape(sentence), kind);
    }

    static Exception Innermost(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: 1 } a: e = a.InnerException!; break;
                case System.Reflection.TargetInvocationException { InnerException: { } inner }: e = inner; break;
                default: return e;
            }
        }
    }
}
