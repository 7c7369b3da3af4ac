using Ckpt.Errors;

namespace Ckpt.Extension;

/// <summary>Handles <see cref="LoadCheckpoint"/>: one call into the Kernel, one variable, one display.</summary>
static class LoadCheckpointHandler
{
    public static async Task HandleAsync(LoadCheckpoint command, KernelInvocationContext context)
    {
        string path;
        try { path = DirectivePositionals.Single(command, "#!ckpt-load", command.Path, "checkpoint", "#!ckpt-load <folder or file> [--name var]", "--name"); }
        catch (ArgumentException e)
        {
            context.Fail(command, message: e.Message);
            return;
        }
        var name = command.Name ?? VariableName.FromPath(path);
        if (!VariableName.IsValid(name))
        {
            context.Fail(command, message: $"'{name}' is not a valid C# variable name for --name.");
            return;
        }

        Checkpoint checkpoint;
        try
        {
            checkpoint = await Task.Run(() => Checkpoint.Open(path, context.CancellationToken), context.CancellationToken);
        }
        catch (Exception e)
        {
            // The one sentence the user needs; a stack trace would bury it. A bug says "internal error".
            MagicFailure.Fail(context, command, e, "#!ckpt-load");
            return;
        }

        string? bound = null;
        if (context.HandlingKernel.RootKernel.FindKernelByName("csharp") is { } csharp)
        {
            if (await CSharpVariable.BindAsync(csharp, name, checkpoint, command, context.CancellationToken) is { } failure)
            {
                context.Fail(command, message: $"Could not bind the C# variable '{name}': {failure}");
                return;
            }
            bound = name;
        }

        context.DisplayAs(ManifestHtml.Render(checkpoint.Manifest, checkpoint.Path, bound), HtmlFormatter.MimeType);
    }
}
