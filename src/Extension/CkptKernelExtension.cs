using Ckpt.Manifest;

namespace Ckpt.Extension;

/// <summary>
/// Loaded by .NET Interactive from the package's `interactive-extensions/dotnet` folder after
/// <c>#r "nuget: Ckpt.Extension"</c>. Everything happens in <see cref="Load"/>, which tests call directly.
/// </summary>
public sealed class CkptKernelExtension : IKernelExtension
{
    public Task OnLoadAsync(Kernel kernel)
    {
        Load(kernel);
        return Task.CompletedTask;
    }

    /// <summary>Registers the formatters and magic commands on <paramref name="kernel"/> (the root kernel in a notebook).</summary>
    public static void Load(Kernel kernel)
    {
        // The first magic or cell that uses TorchSharp loads LibTorch (the CPU package this package depends on, or a
        // configured CUDA PyTorch): no `#r "nuget: libtorch-..."` or Prepare() cell in a notebook. A cell's own
        // TorchSharp code runs torch's type initialiser, which must find LibTorch loaded already: hence before the cell.
        kernel.AddMiddleware(async (command, context, next) =>
        {
            if (command is SubmitCode { Code: var code } && LibTorchCell.Names(code)) Ckpt.Models.TorchNativeLibraries.TryPrepare();
            await next(command, context);
        });
        Formatter.Register<Checkpoint>((ckpt, writer) => writer.Write(ManifestHtml.Render(ckpt.Manifest, ckpt.Path)), HtmlFormatter.MimeType);
        Formatter.Register<CheckpointManifest>((manifest, writer) => writer.Write(ManifestHtml.Render(manifest)), HtmlFormatter.MimeType);

        kernel.AddVerbMagic<LoadCheckpoint>(Inspection.InspectVerb.Definition, LoadCheckpointHandler.HandleAsync, stopped: null);
        Training.TrainingDirectives.Register(kernel);
        Visualisation.VisualisationDirectives.Register(kernel);
        Rewriting.RewritingDirectives.Register(kernel);
        Forensics.RestorDirectives.Register(kernel);
        Forensics.SmoothInvDirectives.Register(kernel);

        KernelInvocationContext.Current?.DisplayAs(UsageHtml.Render(), HtmlFormatter.MimeType);
    }
}
