using Ckpt.Errors;

namespace Ckpt.Extension;

/// <summary>
/// Fails a magic's cell with the same one sentence the CLI prints for the same input (<see cref="UserFacingError"/>):
/// no stack trace and no exception type, for bad input and for bugs alike; a bug says "internal error".
/// </summary>
static class MagicFailure
{
    public static void Fail(KernelInvocationContext context, KernelCommand command, Exception e, string magic) =>
        context.Fail(command, message: UserFacingError.From(e, $"running {magic}").Sentence);
}
