using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;

namespace Ckpt.Extension.Visualisation;

/// <summary>What a directive names: a C# variable holding a <see cref="Checkpoint"/>, or else a path to open.</summary>
static class CheckpointTarget
{
    /// <summary>The checkpoint, and whether this call opened it (and so must dispose it).</summary>
    public static async Task<(Checkpoint Checkpoint, bool Opened)> ResolveAsync(string target, KernelInvocationContext context)
    {
        if (VariableName.IsValid(target) && context.HandlingKernel.RootKernel.FindKernelByName("csharp") is { } csharp)
        {
            var request = new RequestValue(target, "text/plain", null);
            request.SetParent(context.Command, bubbleEvents: false);
            var result = await csharp.SendAsync(request, context.CancellationToken);
            if (result.Events.OfType<ValueProduced>().FirstOrDefault()?.Value is Checkpoint c) return (c, false);
        }
        return (await Task.Run(() => Checkpoint.Open(target, context.CancellationToken), context.CancellationToken), true);
    }
}
