namespace Ckpt.Models;

/// <summary>
/// SwiGLU: down(silu(gate(x)) ⊙ up(x)), or Gemma's GeGLU with the tanh GELU; Phi-3 stores gate and up as one
/// gate_up_proj, gate rows first.
/// </summary>
public sealed class LlamaMlp : NamedModule
{
    readonly long _intermediate;
    readonly bool _tanhGelu;
    public Projection? GateProj { get; }
    public Projection? UpProj { get; }
    /// <summary>Phi-3's [gate; up] rows in one weight (PEFT targets it as gate_up_proj).</summary>
    public Projection? GateUpProj { get; }
    public Projection DownProj { get; }

    public LlamaMlp(string name, LlamaConfig config, ScalarType dtype, Device device) : base(name)
    {
        _intermediate = config.IntermediateSize;
        _tanhGelu = config.TanhGelu;
        if (config.FusedProjections)
        {
            GateUpProj = new Projection("gate_up_proj", config.HiddenSize, 2 * config.IntermediateSize, config.MlpBias, false, dtype, device);
            register_module("gate_up_proj", GateUpProj);
        }
        else
        {
            GateProj = new Projection("gate_proj", config.HiddenSize, config.IntermediateSize, config.MlpBias, false, dtype, device);
            UpProj = new Projection("up_proj", config.HiddenSize, config.IntermediateSize, config.MlpBias, false, dtype, device);
            register_module("gate_proj", GateProj);
            register_module("up_proj", UpProj);
        }
        DownProj = new Projection("down_proj", config.IntermediateSize, config.HiddenSize, config.MlpBias, false, dtype, device);
        register_module("down_proj", DownProj);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor gate, up;
        if (GateUpProj is null) (gate, up) = (GateProj!.forward(x), UpProj!.forward(x));
        else
        {
            var both = GateUpProj.forward(x);
            (gate, up) = (both.narrow(-1, 0, _intermediate), both.narrow(-1, _intermediate, _intermediate));
        }
        // gelu_pytorch_tanh is GPT-2's gelu_new formula (torch's gelu(approximate="tanh")).
        var activated = _tanhGelu ? Gpt2Mlp.GeluNew(gate) : nn.functional.silu(gate);
        return DownProj.forward(activated.mul(up)).MoveToOuterDisposeScope();
    }
}
