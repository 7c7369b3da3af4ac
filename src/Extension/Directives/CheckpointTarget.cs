namespace Ckpt.Extension.Directives;

/// <summary>What a directive names: a C# variable holding a <see cref="Checkpoint"/>, or else a path to open.</summary>
static class CheckpointTarget
{
    /// <summary>The checkpoint, and whether this call opened it (and so must dispose it); a set as one view where <paramref name="set"/> allows.</summary>
    public static async Task<(Checkpoint Checkpoint, bool Opened)> ResolveAsync(string target, KernelInvocationContext context, bool set = false)
    {
        if (await ValueAsync(target, context) is Checkpoint c) return (c, false);
        return (await Task.Run(() => set ? CheckpointSetView.OpenCheckpointOrSet(target, context.CancellationToken)
            : Checkpoint.Open(target, context.CancellationToken), context.CancellationToken), true);
    }

    /// <summary>
    /// The path of the checkpoint a C# variable holds (bound by `#!ckpt-load`), else the text as a path: for magics
    /// that hand a path to the engine (`#!ckpt-finetune`, `#!ckpt-generate`). An existing file or folder wins over a variable.
    /// </summary>
    public static async Task<string> PathAsync(string target, KernelInvocationContext context)
    {
        if (File.Exists(target) || Directory.Exists(target)) return target;
        return await ValueAsync(target, context) switch
        {
            Checkpoint c => c.Path,
            string s => s,
            _ => target,
        };
    }

    /// <summary>The value of the C# variable <paramref name="name"/>, or null when there is none.</summary>
    public static async Task<object?> ValueAsync(string name, KernelInvocationContext context)
    {
        if (!VariableName.IsValid(name) || context.HandlingKernel.RootKernel.FindKernelByName("csharp") is not { } csharp) return null;
        var request = new RequestValue(name, "text/plain", null);
        request.SetParent(context.Command, bubbleEvents: false);
        var result = await csharp.SendAsync(request, context.CancellationToken);
        return result.Events.OfType<ValueProduced>().FirstOrDefault()?.Value;
    }
}
