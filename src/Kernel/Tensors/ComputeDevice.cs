namespace Ckpt.Tensors;

/// <summary>
/// The one reading of `--device`, for every verb that runs a model (finetune, generate, restor, forward, bench forward):
/// `cpu`, `cuda` or `cuda:N` (N a GPU's index from 0), trimmed, in any case; anything else is refused in one sentence
/// before any model is read. <see cref="ToTorch"/> is the only place a device a user typed becomes a TorchSharp device.
/// Parsing touches no LibTorch, so a notebook can check a request before LibTorch is loaded.
/// </summary>
/// <param name="Type">CPU or CUDA.</param>
/// <param name="Index">The GPU's index for `cuda:N`; null for `cpu` and for `cuda` (LibTorch's current GPU).</param>
public readonly record struct ComputeDevice(DeviceType Type, int? Index)
{
    /// <summary>Every `--device` option's help (each surface shows the default, cpu, its own way).</summary>
    public const string Help = "cpu, cuda or cuda:N (the GPU of index N).";

    public static ComputeDevice Cpu => new(DeviceType.CPU, null);

    public bool IsCuda => Type == DeviceType.CUDA;

    /// <summary>`cpu`, `cuda` or `cuda:N`; null (not given) is the CPU.</summary>
    /// <exception cref="ArgumentException">Not one of them: `--device must be cpu, cuda or cuda:N, not 'gpu'`.</exception>
    public static ComputeDevice Parse(string? text) =>
        text is null ? Cpu
        : TryParse(text, out var device) ? device
        : throw new ArgumentException($"--device must be cpu, cuda or cuda:N, not '{text}'");

    public static bool TryParse(string text, out ComputeDevice device)
    {
        var t = text.Trim().ToLowerInvariant();
        device = Cpu;
        if (t == "cpu") return true;
        if (t == "cuda")
        {
            device = new(DeviceType.CUDA, null);
            return true;
        }
        // Digits only: "cuda:+1", "cuda: 1" and "cuda:-1" are not an index.
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && t.Length > 5 && t[5..].All(char.IsAsciiDigit)
            && int.TryParse(t[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            device = new(DeviceType.CUDA, n);
            return true;
        }
        return false;
    }

    /// <summary>The TorchSharp device (this loads LibTorch's types: call it where the model is about to be built).</summary>
    public Device ToTorch() => Index is int n ? new Device(Type, n) : new Device(Type);

    /// <summary>As typed after normalising: `cpu`, `cuda`, `cuda:1`.</summary>
    public override string ToString() => Type == DeviceType.CPU ? "cpu" : Index is int n ? $"cuda:{n}" : "cuda";
}
