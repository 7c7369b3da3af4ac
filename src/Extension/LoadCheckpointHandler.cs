using Ckpt.Inspection;

namespace Ckpt.Extension;

/// <summary>
/// Handles <see cref="LoadCheckpoint"/> as a <see cref="VerbMagic"/> of <see cref="InspectVerb"/> (its line read as the
/// verb's options, the `--name` check, one failure policy): one call into the Kernel, one variable, one display.
/// It binds the variable itself and returns nothing for VerbMagic to bind, because `#!ckpt-load` binds without `--name`
/// too (a name from the file or folder) and binds before it displays: the summary names the variable, where VerbMagic
/// binds after the handler and says so in a paragraph of its own.
/// </summary>
static class LoadCheckpointHandler
{
    public static async Task<object?> HandleAsync(VerbMagicCall call)
    {
        var request = call.Bind(InspectVerb.Bind);
        var checkpoint = await call.Run(() => Checkpoint.Open(request.Path, call.CancellationToken));
        var name = call.Text("--name") ?? VariableName.FromPath(request.Path);
        string? bound = null;
        if (call.Context.HandlingKernel.RootKernel.FindKernelByName("csharp") is { } csharp)
        {
            if (await CSharpVariable.BindAsync(csharp, name, checkpoint, call.Command, call.CancellationToken) is { } failure)
            {
                call.Context.Fail(call.Command, message: $"Could not bind the C# variable '{name}': {failure}");
                return null;
            }
            bound = name;
        }
        call.Show(ManifestHtml.Render(checkpoint.Manifest, checkpoint.Path, bound));
        return null;
    }
}
