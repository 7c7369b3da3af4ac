using System.Runtime.CompilerServices;

namespace Ckpt.Extension;

/// <summary>Binds a Kernel object to a variable of the notebook's C# kernel.</summary>
static class CSharpVariable
{
    static readonly ConditionalWeakTable<Kernel, object> _referenced = new();

    /// <summary>
    /// Binds <paramref name="value"/> as <paramref name="name"/> (when a name is given) for a magic's `--name`, and says
    /// so in the cell, or fails the cell naming the variable. Not cancellable: a run stopped from the notebook still
    /// binds what it finished with.
    /// </summary>
    public static async Task BindForMagicAsync(KernelCommand command, KernelInvocationContext context, string? name, object value)
    {
        if (name is null || context.HandlingKernel.RootKernel.FindKernelByName("csharp") is not { } csharp) return;
        if (await BindAsync(csharp, name, value, command, CancellationToken.None) is { } failure)
            context.Fail(command, message: $"Could not bind the C# variable '{name}': {failure}");
        else
            context.DisplayAs($"<p class=\"ckpt-variable\">Bound to the C# variable <code>{System.Net.WebUtility.HtmlEncode(name)}</code>.</p>", HtmlFormatter.MimeType);
    }

    /// <summary>Binds <paramref name="value"/> as <paramref name="name"/>; returns the failure message, or null when bound.</summary>
    public static async Task<string?> BindAsync(Kernel csharp, string name, object value, KernelCommand parent, CancellationToken cancellationToken)
    {
        // The C# kernel declares the variable with its static type, so it must reference Ckpt.Kernel. A package
        // reference already does; a kernel built in code (tests, hosts) may not. `#r` of a loaded path is a no-op.
        if (!_referenced.TryGetValue(csharp, out _))
        {
            var reference = new SubmitCode($"#r \"{value.GetType().Assembly.Location}\"");
            reference.SetParent(parent, bubbleEvents: false);
            if (Failure(await csharp.SendAsync(reference, cancellationToken)) is { } referenceFailed) return referenceFailed;
            _referenced.AddOrUpdate(csharp, true);
        }
        // A plain-text formatted value: the default JSON one would serialise the whole checkpoint for nothing.
        var send = new SendValue(name, value, new FormattedValue(PlainTextFormatter.MimeType, value.ToString() ?? ""));
        send.SetParent(parent, bubbleEvents: false);
        return Failure(await csharp.SendAsync(send, cancellationToken));
    }

    static string? Failure(KernelCommandResult result) => result.Events.OfType<CommandFailed>().FirstOrDefault()?.Message;
}
