using Ckpt.Manifest;
using Microsoft.DotNet.Interactive.Directives;

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

        KernelInvocationContext.Current?.DisplayAs(Usage, HtmlFormatter.MimeType);
    }

    const string Usage =
        "<details><summary><code>Ckpt.Extension</code> is loaded: try <code>#!ckpt-load &lt;checkpoint folder or file&gt; [--name var]</code></summary>" +
        "<p><code>#!ckpt-load</code> opens any supported checkpoint (safetensors, HF sharded indexes, torch.save, PyTorch DCP, " +
        "Megatron-LM, DeepSpeed ZeRO/UCP, ByteCheckpoint) " +
        "reading headers only, binds a <code>Ckpt.Checkpoint</code> C# variable and shows its tensors and files. " +
        "Charts: <code>#!ckpt-layout &lt;var|path&gt; [--tensor glob]</code>, <code>#!ckpt-diff &lt;a&gt; &lt;b&gt;</code>, " +
        "<code>#!ckpt-stats &lt;var&gt; &lt;tensor&gt;</code>, <code>#!ckpt-timeline [var]</code>, <code>#!ckpt-recovery &lt;var&gt;</code>. " +
        "Rewriting: <code>#!ckpt-reshard &lt;path&gt; --world-size N [--mesh AxB --placements ...] [--out dir]</code>, " +
        "<code>#!ckpt-convert &lt;path&gt; --to safetensors|dcp|torch --out dir</code>, " +
        "<code>#!ckpt-merge --method linear|slerp|task-arithmetic|ties|dare-linear|dare-ties --model a[:w] --model b[:w] --out dir</code>, " +
        "<code>#!ckpt-lcsc &lt;folder|glob|list&gt; --eval eval-loss:&lt;batch&gt;|mse:&lt;ckpt&gt; [--budget 200]</code>. " +
        "Fine-tuning (LoRA/QLoRA, live loss chart; LibTorch is loaded on first use, <code>CKPT_LIBTORCH</code> picks another): " +
        "<code>#!ckpt-finetune --recipe sft|dpo --model &lt;var|path&gt; --data &lt;file.jsonl&gt; --steps N [--out dir]</code>, " +
        "<code>#!ckpt-generate --model &lt;var|path&gt; --prompt \"text\" [--adapter dir] [--greedy | --temperature T]</code>. " +
        "From C#: <code>var c = Ckpt.Checkpoint.Open(path); c.Read(name)</code>. Packages: <code>Ckpt.Kernel</code> (the engine), " +
        "<code>Ckpt.Extension</code> (this notebook layer), <code>Ckpt.Cli</code> (the <code>ckpt</code> tool).</p></details>";
}
