namespace Ckpt.Tensors;

/// <summary>
/// The one `--threads` option of the verbs that run LibTorch (finetune, generate, restor, restor-toy): its help, its
/// check and where it takes effect (torch.set_num_threads, for the whole process).
/// </summary>
public static class LibTorchThreads
{
    public const string Help = "CPU threads for LibTorch (default: LibTorch's choice).";

    /// <exception cref="ArgumentException">Zero or negative: `--threads must be positive, not 0`.</exception>
    public static void Check(int? threads)
    {
        if (threads is <= 0) throw new ArgumentException($"--threads must be positive, not {threads}");
    }

    /// <summary>Sets LibTorch's intra-op threads; null leaves LibTorch's choice.</summary>
    public static void Apply(int? threads)
    {
        Check(threads);
        if (threads is int n) set_num_threads(n);
    }
}
