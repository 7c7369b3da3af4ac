using TorchSharp.Modules;

namespace Ckpt.Models;

/// <summary>
/// A linear layer as HF stores it: weight [out, in] (nn.Linear), or [in, out] for GPT-2's Conv1D
/// (<see cref="FanInFanOut"/>), optional bias, and optionally a low-rank adapter added to its output.
/// Keeping the stored orientation means weights load and save without transposes.
/// </summary>
public sealed class Projection : NamedModule
{
    public Parameter Weight { get; private set; }
    public Parameter? Bias { get; }
    public bool FanInFanOut { get; }
    public long InFeatures { get; }
    public long OutFeatures { get; }
    /// <summary>The adapter whose output is added to this layer's output (LoRA), if one is attached.</summary>
    public nn.Module<Tensor, Tensor>? Adapter { get; private set; }
    internal bool AdapterEnabled { get; set; } = true;
    /// <summary>A replacement for the dense weight product (e.g. an NF4 weight), if the base is quantized.</summary>
    internal nn.Module<Tensor, Tensor>? QuantizedBase { get; private set; }

    public Projection(string name, long inFeatures, long outFeatures, bool bias, bool fanInFanOut, ScalarType dtype, Device device)
        : base(name)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        FanInFanOut = fanInFanOut;
        long[] shape = fanInFanOut ? [inFeatures, outFeatures] : [outFeatures, inFeatures];
        Weight = new Parameter(empty(shape, dtype, device), requires_grad: false);
        register_parameter("weight", Weight);
        if (bias)
        {
            Bias = new Parameter(zeros(outFeatures, dtype, device), requires_grad: false);
            register_parameter("bias", Bias);
        }
    }

    public override Tensor forward(Tensor x)
    {
        Tensor y;
        if (QuantizedBase is not null) y = QuantizedBase.forward(x);
        else if (!FanInFanOut) y = nn.functional.linear(x, Weight, Bias);
        else
        {
            using var product = x.matmul(Weight);
            y = Bias is null ? product.alias() : product.Plus(Bias);
        }
        if (Adapter is null || !AdapterEnabled) return y;
        using (y)
        {
            using var delta = Adapter.forward(x);
            return delta.dtype == y.dtype ? y.Plus(delta) : y.Plus(delta.to(y.dtype));
        }
    }

    /// <summary>Attaches an adapter; its submodules become this layer's children (PEFT names: lora_A, lora_B).</summary>
    internal void Attach(nn.Module<Tensor, Tensor> adapter, IEnumerable<(string Name, nn.Module Module)> children)
    {
        if (Adapter is not null) throw new InvalidOperationException($"{GetName()} already has an adapter");
        Adapter = adapter;
        AdapterEnabled = true;
        foreach (var (name, module) in children) register_module(name, module);
    }

    /// <summary>Removes the adapter (after merging it, or to discard it); returns it for disposal.</summary>
    internal nn.Module<Tensor, Tensor>? Detach(IEnumerable<string> childNames)
    {
        var adapter = Adapter;
        Adapter = null;
        foreach (var name in childNames) _internal_submodules.Remove(name);
        return adapter;
    }

    /// <summary>
    /// Replaces the dense weight product by a quantized one. The dense weight is freed and unregistered; <see cref="Weight"/>
    /// becomes an empty placeholder that only remembers the compute dtype and device.
    /// </summary>
    internal void Quantize(nn.Module<Tensor, Tensor> quantized)
    {
        if (QuantizedBase is not null) throw new InvalidOperationException($"{GetName()} is already quantized");
        QuantizedBase = quantized;
        _internal_params.Remove("weight");
        var dense = Weight;
        Weight = new Parameter(empty([0], dense.dtype, dense.device), requires_grad: false);
        dense.Dispose();
        register_module("quantized", quantized);
    }
}
