namespace Ckpt.Extension;

/// <summary>
/// Whether a cell may use TorchSharp, so LibTorch is loaded before it runs: it names TorchSharp or torch, or the
/// Kernel namespaces whose types run models (Ckpt.Models, Ckpt.Training, Ckpt.Resilience). Magics that need a model
/// load it themselves (TorchNativeLibraries.Require); a cell that needs none pays nothing.
/// </summary>
static class LibTorchCell
{
    static readonly string[] Marks = ["TorchSharp", "torch.", "Ckpt.Models", "Ckpt.Training", "Ckpt.Resilience"];

    public static bool Names(string code) => Marks.Any(m => code.Contains(m, StringComparison.Ordinal));
}
