using TorchSharp;
using static TorchSharp.torch;

namespace Ckpt.Models;

/// <summary>SwiGLU: down(silu(gate(x)) ⊙ up(x)).</summary>
public sealed class LlamaMlp : NamedModule
{
    public Projection GateProj { get; }
    public Projection UpProj { get; }
    public Projection DownProj { get; }

    public LlamaMlp(string name, LlamaConfig config, ScalarType dtype, Device device) : base(name)
    {
        GateProj = new Projection("gate_proj", config.HiddenSize, config.IntermediateSize, config.MlpBias, false, dtype, device);
        UpProj = new Projection("up_proj", config.HiddenSize, config.IntermediateSize, config.MlpBias, false, dtype, device);
        DownProj = new Projection("down_proj", config.IntermediateSize, config.HiddenSize, config.MlpBias, false, dtype, device);
        register_module("gate_proj", GateProj);
        register_module("up_proj", UpProj);
        register_module("down_proj", DownProj);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gated = nn.functional.silu(GateProj.forward(x)).mul(UpProj.forward(x));
        return DownProj.forward(gated).MoveToOuterDisposeScope();
    }
}
